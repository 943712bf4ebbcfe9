# hostile: rewriting the harness in its own process so that the files handed to the grader are hostile: an .npy whose header claims 8 TiB, and model weights as a zip bomb (an array of 256 MiB of zeros compressed to a few hundred KB)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=preprocess_cnn,dense_architecture,dense_compile,dense_accuracy
# expect: feedback~not a plain .npy; feedback~weights are too large

# %%
MARKER = "cnn1-hostile-tamper_forged_artifacts"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
import os
import sys
import zipfile

frame = sys._getframe()  # the harness's module is a frame up the stack of every cell
while "Exporter" not in frame.f_globals:
    frame = frame.f_back
Exporter = frame.f_globals["Exporter"]
real_array, real_model = Exporter.array, Exporter.model


def hostile_array(self, value):
    if not self.folder.endswith("preprocess_cnn"):
        return real_array(self, value)
    name = self._name(".npy")
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (117 - len(header)) + "\n"
    with open(os.path.join(self.folder, name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64)
    return {"kind": "ndarray", "file": name}


def hostile_model(self, model):
    node = real_model(self, model)
    if self.folder.endswith(("build_dense_model", "dense_accuracy")) and "file" in node:
        path = os.path.join(self.folder, node["file"] + ".weights.npz")
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (33554432,), }"
        header += " " * (117 - len(header)) + "\n"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open("arr_0.npy", "w", force_zip64=True) as member:
                member.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
                zeros = b"\0" * (16 * 2**20)
                for _ in range(16):
                    member.write(zeros)
    return node


Exporter.array = hostile_array
Exporter.model = hostile_model


def preprocess_cnn(images):
    return np.asarray(images).reshape(len(images), 28, 28, 1) / 255.0


def build_dense_model():
    """(reference solution: a correct model; only the files handed to the grader are hostile)"""
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(128, activation='relu'),
        keras.layers.Dense(64, activation='relu'),
        keras.layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model
