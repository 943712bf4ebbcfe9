# defect: confusion_matrix_of passes (predicted, true) to sklearn's confusion_matrix, so rows are the predicted class (transposed)
def confusion_matrix_of(model, images, labels, num_classes=10):
    y_true = np.asarray(labels).reshape(-1)
    y_pred = predict_labels(model, images)
    return confusion_matrix(y_pred, y_true, labels=list(range(num_classes)))
