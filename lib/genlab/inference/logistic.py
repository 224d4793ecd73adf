"""Bayesian logistic regression: the model every inference method in 01_foundations targets.

Introduced in 01_foundations. Weights w ∈ R^D have a N(0, prior_std² I) prior; labels
y ∈ {0, 1} are Bernoulli(sigmoid(x·w)). All functions accept a batch of weight vectors
``w`` of shape (..., D) and return one number per weight vector, so a Monte-Carlo ELBO,
many HMC chains and a single MAP estimate all use the same code.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check_data(w: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> None:
    if X.ndim != 2:
        raise ValueError(f"X must be (N, D), got shape {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must be (N,) = ({X.shape[0]},) to match X, got shape {tuple(y.shape)}")
    if w.shape[-1] != X.shape[1]:
        raise ValueError(f"w has {w.shape[-1]} weights per vector but X has {X.shape[1]} columns")


def log_likelihood(w: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log p(y | X, w) = Σ_n [y_n z_n − log(1 + e^{z_n})] with z = X w, summed over the N data points.

    ``w``: (..., D); returns (...). Uses ``logsigmoid``-style stable arithmetic (no overflow
    for large logits).
    """
    _check_data(w, X, y)
    z = w @ X.T                                               # (..., N)
    return -F.binary_cross_entropy_with_logits(z, y.to(z.dtype).expand_as(z), reduction="none").sum(-1)


def log_prior(w: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """log N(w; 0, prior_std² I), all constants included; ``w``: (..., D), returns (...)."""
    if not prior_std > 0:
        raise ValueError(f"prior_std must be positive, got {prior_std!r}")
    D = w.shape[-1]
    return (-0.5 * (w / prior_std) ** 2).sum(-1) - D * (math.log(prior_std) + 0.5 * math.log(2 * math.pi))


def log_joint(w: torch.Tensor, X: torch.Tensor, y: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """log p(y, w | X) = log-likelihood + log-prior: the unnormalised log-posterior."""
    return log_likelihood(w, X, y) + log_prior(w, prior_std)
