"""Why the worker widens evaluate/predict batches in notebook cells (grader/harness.py,
install_wide_batches): the chapter's 30,762-parameter CNN, run eagerly as the worker runs notebook
models, on 10,000 MNIST-shaped images, with batches of 32, 256 and 1,024, and in graph mode with 32.

    .venv/bin/python benchmarks/eager_batch_sizes.py

Prints seconds per evaluate and predict call (one process, the same thread counts as the worker).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def chapter_cnn(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(), layers.Flatten(),
                             layers.Dense(32, activation="relu"), layers.Dense(10, activation="softmax")])


def seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> int:
    import keras
    import numpy as np

    from grader.training import pin_threads
    pin_threads()
    rng = np.random.default_rng(0)
    x, y = rng.random((10_000, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 10_000)
    model = chapter_cnn(keras)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.run_eagerly = True
    model.fit(x[:64], y[:64], epochs=1, verbose=0)
    for batch in (32, 256, 1024):
        evaluate = seconds(lambda: model.evaluate(x, y, batch_size=batch, verbose=0))
        predict = seconds(lambda: model.predict(x, batch_size=batch, verbose=0))
        print(f"eager, batch {batch:5}: evaluate {evaluate:.2f} s, predict {predict:.2f} s")
    model.run_eagerly = False
    evaluate = seconds(lambda: model.evaluate(x, y, batch_size=32, verbose=0))
    predict = seconds(lambda: model.predict(x, batch_size=32, verbose=0))
    print(f"graph, batch    32: evaluate {evaluate:.2f} s, predict {predict:.2f} s (tracing included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
