# defect: preprocess_cifar scales the images but returns the labels unchanged, shape (N, 1) instead of (N,)
def preprocess_cifar(images, labels):
    x = np.asarray(images).astype('float32') / 255
    y = np.asarray(labels).astype('int64')
    return x, y
