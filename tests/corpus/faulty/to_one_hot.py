# defect: to_one_hot hard-codes 10 classes and ignores its num_classes argument
def to_one_hot(labels, num_classes=10):
    return np.eye(10, dtype='float32')[np.asarray(labels)]
