# hostile: a borderline CIFAR-10 model (one 16-filter convolution, Dense(16), learning rate 5e-4: 0.15-0.25 from one training to the next, against the minimum 0.15) whose verdict used to depend on a seed a student could compute offline from the file's hash and the public default salt; the notebook also looks for the salt (issue 9, finding 4). The grader's training seeds now come from the installation's secret salt, and a first accuracy near the threshold is measured with further seeds and decided on their mean
# expect: status=graded; max_score=12; passed=cifar_data,cifar_model_structure; measured~test accuracy; flagged=none

# %%
MARKER = "cnn1-hostile-integrity_predict_the_seed"  # in the argv of every process this file starts

# %%
import glob
import hashlib
import json
import os

import numpy as np
import keras
from keras import layers

CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

with open("/tmp/in/spec.json") as f:
    SEED_SEEN = json.load(f)["seed"]
submission = sorted(glob.glob("/tmp/work/*") + glob.glob(os.path.join(os.getcwd(), "*")))
OWN_HASH = hashlib.sha256(open(submission[0], "rb").read()).hexdigest() if submission else ""
PREDICTED = int(hashlib.sha256(("cnn1-grader" + OWN_HASH).encode()).hexdigest()[:8], 16)


def find_salt(seconds: float = 3.0) -> list[str]:
    """Any file named like the grader's salt, in what this process can see (a bounded walk)."""
    import time
    found, deadline = [], time.monotonic() + seconds
    for top in ("/", os.path.expanduser("~")):
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/dev", "/usr")]
            found += [os.path.join(folder, f) for f in files if f == "grader-salt"]
            if time.monotonic() > deadline:
                return found
    return found


SALT_FOUND = find_salt()[:3]
if SALT_FOUND or PREDICTED == SEED_SEEN:
    CLASS_NAMES = [f"LEAK: {SALT_FOUND} {PREDICTED}"]  # the salt was readable, or the seed predictable


def load_cifar10():
    """(reference solution)"""
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    return (x_train, y_train), (x_test, y_test)


def build_cifar_model(input_shape=(32, 32, 3), num_classes=10):
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(16, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(16, activation='relu'),
        layers.Dense(num_classes, activation='softmax'),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=5e-4), loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    return model
