# defect: predict_labels collects the argmax of each row in a Python list and returns the list, not a numpy array
def predict_labels(model, x):
    probabilities = model.predict(x, verbose=0)
    labels = []
    for p in probabilities:
        labels.append(np.argmax(p))
    return labels
