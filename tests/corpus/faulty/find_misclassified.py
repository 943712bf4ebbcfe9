# defect: find_misclassified returns the boolean mask predicted != actual instead of the indices
def find_misclassified(predicted, actual):
    predicted = np.asarray(predicted).reshape(-1)
    actual = np.asarray(actual).reshape(-1)
    return predicted != actual
