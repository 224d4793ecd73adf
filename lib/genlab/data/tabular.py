"""A small tabular binary-classification task: sklearn's bundled breast-cancer data.

Introduced in 01_foundations (Bayesian logistic regression). 569 tumours, 30 features,
label 1 = benign. By default we keep 8 features whose pairwise correlations are at most
0.56, so a mean-field (diagonal) posterior is a fair approximation; ``features="all"``
keeps all 30 (strongly correlated: radius, perimeter and area are nearly collinear).
Features are standardised with the training split's mean and std, and a leading column
of ones is the intercept. The split is fixed (it never depends on a notebook's SEED).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer as _sklearn_breast_cancer
from sklearn.model_selection import train_test_split

SPLIT_SEED = 0
TEST_SIZE = 0.3
WEAKLY_CORRELATED = ("mean radius", "mean texture", "mean smoothness", "mean symmetry",
                     "texture error", "smoothness error", "symmetry error", "fractal dimension error")


@dataclass
class Tabular:
    """Train/test tensors: ``X`` float32 (N, D) with column 0 the intercept, ``y`` float32 in {0, 1}."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    feature_names: list[str]

    @property
    def num_features(self) -> int:
        """D, the number of columns of X (the intercept included)."""
        return self.X_train.shape[1]

    def __repr__(self) -> str:
        return (f"Tabular(train={tuple(self.X_train.shape)}, test={tuple(self.X_test.shape)}, "
                f"features={self.feature_names})")


def load_breast_cancer(features: str | tuple[str, ...] = "weakly_correlated",
                       dtype: torch.dtype = torch.float32) -> Tabular:
    """Breast-cancer data with the course's fixed stratified 70/30 split (398 / 171 rows).

    ``features``: ``"weakly_correlated"`` (the 8 in ``WEAKLY_CORRELATED``), ``"all"``, or a
    tuple of sklearn feature names.
    """
    bunch = _sklearn_breast_cancer()
    names = list(bunch.feature_names)
    if features == "weakly_correlated":
        chosen = list(WEAKLY_CORRELATED)
    elif features == "all":
        chosen = names
    elif isinstance(features, (tuple, list)) and features:
        chosen = list(features)
    else:
        raise ValueError(f"features must be 'weakly_correlated', 'all' or a tuple of names, got {features!r}")
    unknown = [f for f in chosen if f not in names]
    if unknown:
        raise ValueError(f"unknown feature names {unknown}; choose from {names}")
    X = bunch.data[:, [names.index(f) for f in chosen]]
    y = bunch.target.astype(np.float64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
    mean, std = X_train.mean(0), X_train.std(0)
    add_intercept = lambda a: np.hstack([np.ones((len(a), 1)), (a - mean) / std])  # noqa: E731
    t = lambda a: torch.as_tensor(a, dtype=dtype)  # noqa: E731
    return Tabular(t(add_intercept(X_train)), t(y_train), t(add_intercept(X_test)), t(y_test),
                   ["intercept", *chosen])
