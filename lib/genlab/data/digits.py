"""sklearn's bundled 8×8 digits (1,797 images, 10 classes) with one fixed split.

Introduced in 00_orientation. The split never depends on a notebook's SEED, so every
notebook and every learner evaluates on the same test images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits as _sklearn_digits
from sklearn.model_selection import train_test_split

SPLIT_SEED = 0      # fixed on purpose: see the module docstring
TEST_SIZE = 360     # 20 %
VAL_SIZE = 270      # 15 %


@dataclass
class Digits:
    """Train/val/test tensors. Images are float32 in [0, 1]; labels are int64."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def num_classes(self) -> int:
        return 10

    def __repr__(self) -> str:
        return (f"Digits(train={tuple(self.X_train.shape)}, val={tuple(self.X_val.shape)}, "
                f"test={tuple(self.X_test.shape)})")


def load_digits(flatten: bool = True) -> Digits:
    """Load the digits with the course's fixed stratified split (1,167 / 270 / 360).

    ``flatten=True`` gives rows of 64 pixels; ``flatten=False`` gives (N, 1, 8, 8) images.
    Pixel values 0..16 are scaled to [0, 1].
    """
    bunch = _sklearn_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=VAL_SIZE, stratify=y_rest, random_state=SPLIT_SEED)
    shape = (-1, 64) if flatten else (-1, 1, 8, 8)
    t = lambda a: torch.from_numpy(a)  # noqa: E731 - tiny local helper
    return Digits(t(X_train).reshape(shape), t(y_train), t(X_val).reshape(shape), t(y_val),
                  t(X_test).reshape(shape), t(y_test))
