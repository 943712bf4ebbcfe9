# defect: preprocess_cnn scales to [0,1] but keeps the shape (N, 28, 28) without the channel axis Conv2D needs
def preprocess_cnn(images):
    images = np.asarray(images)
    return images.astype('float32') / 255
