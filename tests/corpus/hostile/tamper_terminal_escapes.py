# hostile: escape sequences aimed at the instructor's terminal (clear the screen and scrollback, draw a green "Score: 100/100", set the window title, a right-to-left override) printed by a cell, in an exception message, in a returned value and in an answer cell (issue 10, finding 4)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=choose_loss; error~Score

# %%
MARKER = "cnn1-hostile-tamper_terminal_escapes"  # in the argv of every process this file starts

# %%
import numpy as np
import keras

FAKE = "\x1b[2J\x1b[3J\x1b[H\x1b]0;owned\x07\x1b[1;32mScore: 100/100\x1b[0m\u202e\r\x9b2J"
print(FAKE * 3)


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255


def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)


def choose_loss(labels, num_classes):
    return FAKE


# %%
raise RuntimeError(FAKE)

# %% [markdown]
# ## 📝 考察 <!-- answer:misclassification_analysis -->
# [2J[1;32mScore: 100/100[0m ]0;owned
