"""grader/datasets.py: one data-directory setting, clear failure when data is missing."""

from pathlib import Path

import numpy as np
import pytest

from grader import datasets


def test_option_beats_environment_beats_checkout_data_beats_keras_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.DATA_DIR_VARIABLE, str(tmp_path / "env"))
    monkeypatch.setattr(datasets, "CHECKOUT_DATA", tmp_path / "checkout" / ".data")
    assert datasets.data_dir(tmp_path / "opt") == tmp_path / "opt"
    assert datasets.data_dir() == tmp_path / "env"
    monkeypatch.delenv(datasets.DATA_DIR_VARIABLE)
    assert datasets.data_dir() == Path.home() / ".keras" / "datasets"  # no .data/ in the checkout
    (tmp_path / "checkout" / ".data").mkdir(parents=True)
    assert datasets.data_dir() == tmp_path / "checkout" / ".data"


def test_install_prepares_the_checkouts_data_from_a_local_copy():
    """The newcomer path: after ./install.sh, `grade FILE` needs no variable (README)."""
    install = (Path(__file__).resolve().parent.parent / "install.sh").read_text()
    assert '"$LOCAL_COPY" .data' in install and datasets.CHECKOUT_DATA.name == ".data"


def test_reads_keras_layout_and_flattens_labels(tmp_path):
    np.savez(tmp_path / "cifar10.npz", x_train=np.zeros((4, 32, 32, 3), np.uint8), y_train=np.arange(4).reshape(4, 1),
             x_test=np.zeros((2, 32, 32, 3), np.uint8), y_test=np.array([[1], [2]]))
    data = datasets.load_dataset("cifar10", tmp_path)
    assert data.y_train.tolist() == [0, 1, 2, 3] and data.y_test.shape == (2,)


def test_missing_dataset_without_network_says_what_to_do(tmp_path, monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(datasets.DatasetUnavailable, match="--data-dir"):
        datasets.load_dataset("mnist", tmp_path)


def test_real_data_directory_has_mnist():
    data = datasets.load_dataset("mnist")
    assert data.x_train.shape == (60000, 28, 28) and data.y_test[:5].tolist() == [7, 2, 1, 0, 4]
