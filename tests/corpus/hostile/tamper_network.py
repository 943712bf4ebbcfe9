# hostile: trying the network: TCP and UDP to 127.0.0.1 (where the test listens), TCP to outside addresses, a DNS lookup; reports any success through preprocess_dense
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; requires=no_network

# %%
MARKER = "cnn1-hostile-tamper_network"  # in the argv of every process this file starts

# %%
import socket

REACHED = []
for host, port in (("127.0.0.1", 47311), ("1.1.1.1", 80), ("8.8.8.8", 53), ("93.184.215.14", 443)):
    try:
        with socket.create_connection((host, port), timeout=3) as connection:
            connection.sendall(MARKER.encode())
            REACHED.append(f"tcp {host}:{port}")
    except OSError:
        pass
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(MARKER.encode(), ("127.0.0.1", 47311))
except OSError:
    pass
try:
    REACHED.append(f"dns {socket.gethostbyname('example.com')}")
except OSError:
    pass

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
def preprocess_dense(images):  # noqa: F811 - reports the network instead of answering
    if REACHED:
        raise RuntimeError("NETWORK " + ", ".join(REACHED))
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255
