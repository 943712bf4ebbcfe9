# defect: choose_loss treats every whole-valued array as class ids, so a one-hot matrix gets sparse_categorical_crossentropy
def choose_loss(labels, num_classes):
    y = np.asarray(labels)
    if y.ndim > 2:
        raise ValueError(f'labels must be 1-D or 2-D, got shape {y.shape}')
    if np.any(y != np.round(y)):
        raise ValueError('labels must be whole numbers')
    if num_classes == 2:
        return 'binary_crossentropy'
    return 'sparse_categorical_crossentropy'
