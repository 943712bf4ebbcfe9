"""CPU of the small eager fits both sides run, with Keras' tf.data pipeline and with sliced batches
(protocol.install_sliced_batches), in fresh processes taking turns (the machine's load drifts).

    .venv/bin/python benchmarks/sliced_batches.py [--rounds 5]

Each process fits the chapter's MNIST CNN and the probe model as the budget leaves them (64 rows,
three epochs, a validation split), then evaluates and predicts, several times, after a warm-up.
Prints the CPU seconds of those fits in every process, the medians and their ratio, and whether both
ways computed the same numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

import grader  # noqa: F401  first: it sets protocol.PROCESS_ENVIRONMENT before numpy and TensorFlow start
from grader import protocol

FITS_PER_TURN = 6
WAYS = ("tf.data", "sliced batches")


def chapter_cnn(keras):
    """The chapter's MNIST CNN (30,762 parameters)."""
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Conv2D(32, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                             keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, activation="softmax")])


def one_turn(keras, x: np.ndarray, y: np.ndarray) -> tuple[float, list]:
    """CPU seconds of FITS_PER_TURN fits of each model, and what they computed."""
    computed = []
    started = time.process_time()
    for _ in range(FITS_PER_TURN):
        keras.utils.set_random_seed(0)
        cnn = chapter_cnn(keras)
        cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
        history = cnn.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, shuffle=False, verbose=0)
        computed += [history.history, cnn.evaluate(x, y, verbose=0), cnn.predict(x[:8], verbose=0).tolist()]
        probe = protocol.build_probe_model(keras, (28, 28, 1), 10, probe_weights())
        history = probe.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        computed.append(history.history)
    return time.process_time() - started, computed


def probe_weights() -> list[np.ndarray]:
    """Initial weights of the probe model for 28x28 images and ten classes."""
    rng = np.random.default_rng(1)
    shapes = [(784, protocol.PROBE_MODEL_UNITS), (protocol.PROBE_MODEL_UNITS,), (protocol.PROBE_MODEL_UNITS, 10), (10,)]
    return [rng.normal(0, 0.1, shape).astype("float32") for shape in shapes]


def measure(way: str) -> dict:
    """In this process: Keras set up as a grading does (with or without the sliced batches), a
    warm-up turn, then one measured turn."""
    from grader.training import pin_threads
    if way == "tf.data":
        import keras  # pin_threads would install the sliced batches
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(protocol.TRAINING_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    else:
        pin_threads()
        import keras
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28, 1)), rng.integers(0, 10, 64)
    one_turn(keras, x, y)  # Keras' first fits in a process build more than later ones
    cpu, computed = one_turn(keras, x, y)
    return {"cpu": cpu, "computed": json.loads(json.dumps(computed, default=float))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", choices=WAYS, help=argparse.SUPPRESS)  # one child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    seconds: dict[str, list[float]] = {way: [] for way in WAYS}
    computed: dict[str, list] = {}
    for round_number in range(1, args.rounds + 1):
        for way in WAYS:
            done = subprocess.run([sys.executable, __file__, "--measure", way], capture_output=True, text=True,
                                  check=True)
            child = json.loads(done.stdout.strip().splitlines()[-1])
            seconds[way].append(child["cpu"])
            computed[way] = child["computed"]
            print(f"round {round_number}  {way:14s} {child['cpu']:6.2f} s CPU")
    base = statistics.median(seconds[WAYS[0]])
    for way, values in seconds.items():
        print(f"{way:14s} median {statistics.median(values):6.2f} s CPU  ratio to tf.data {statistics.median(values) / base:.2f}")
    print("same numbers:", computed[WAYS[0]] == computed[WAYS[1]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
