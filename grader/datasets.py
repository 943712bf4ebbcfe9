"""Datasets through one setting: the data directory.

The grader reads MNIST and CIFAR-10 from a data directory holding `mnist.npz` and `cifar10.npz`
(Keras key layout: x_train, y_train, x_test, y_test). The directory is, in order: the
`--data-dir` option, the environment variable `CNN_GRADER_DATA_DIR`, the checkout's own `.data/`
when it exists (install.sh prepares it from a local copy of the datasets when the machine has one),
or Keras' own cache (`~/.keras/datasets`). When a file is missing there, Keras' `load_data()` is asked, which downloads
when the network is there; when that fails too, `DatasetUnavailable` says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR_VARIABLE = "CNN_GRADER_DATA_DIR"
CHECKOUT_DATA = Path(__file__).resolve().parent.parent / ".data"
DATASET_NAMES = ("mnist", "cifar10")


class DatasetUnavailable(Exception):
    """A dataset is neither in the data directory nor downloadable."""


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def data_dir(option: Path | None = None) -> Path:
    """The data directory in force: the option, else the environment variable, else the checkout's
    `.data/`, else Keras' cache."""
    if option is not None:
        return Path(option)
    if os.environ.get(DATA_DIR_VARIABLE):
        return Path(os.environ[DATA_DIR_VARIABLE])
    if CHECKOUT_DATA.is_dir():
        return CHECKOUT_DATA
    return Path.home() / ".keras" / "datasets"


def load_dataset(name: str, directory: Path | None = None) -> Dataset:
    """MNIST or CIFAR-10 as uint8 images and 1-D integer labels."""
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}")
    folder = data_dir(directory)
    path = folder / f"{name}.npz"
    if path.exists():
        return _read_npz(path)
    return _download(name, folder)


def _read_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetUnavailable(f"{path}: not a readable dataset file ({exc})") from None
    return Dataset(arrays["x_train"], arrays["y_train"].reshape(-1),
                   arrays["x_test"], arrays["y_test"].reshape(-1))


def _download(name: str, folder: Path) -> Dataset:
    try:
        import keras
        loader = keras.datasets.mnist if name == "mnist" else keras.datasets.cifar10
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:  # no network, proxy, broken cache: all mean "not available here"
        raise DatasetUnavailable(
            f"{name}: {folder / (name + '.npz')} does not exist and Keras could not download it "
            f"({type(exc).__name__}). Put {name}.npz (keys x_train, y_train, x_test, y_test) in a "
            f"folder and pass it with --data-dir or the environment variable {DATA_DIR_VARIABLE}."
        ) from None
    return Dataset(x_train, y_train.reshape(-1), x_test, y_test.reshape(-1))
