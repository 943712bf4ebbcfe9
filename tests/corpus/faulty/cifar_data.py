# defect: CLASS_NAMES copied from the PyTorch tutorial ('plane', 'car', ...) instead of the Keras names
CLASS_NAMES = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
