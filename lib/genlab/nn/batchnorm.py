"""Batch normalisation, training-mode forward pass, in five lines.

Introduced in 01_foundations. For each channel c, over the batch (and any spatial dims):

    x̂ = (x − mean) / sqrt(var + eps),   y = γ_c x̂ + β_c,

with the *biased* variance (divide by the count, not count − 1) and eps inside the square
root — exactly what ``torch.nn.functional.batch_norm(..., training=True)`` computes.
Running statistics (used at evaluation time) are left to ``torch.nn.BatchNorm1d``.
"""
from __future__ import annotations

import torch


def batch_norm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                       eps: float = 1e-5) -> torch.Tensor:
    """Normalise ``x`` of shape (N, C) or (N, C, *spatial) per channel C with batch statistics.

    Introduced in 01_foundations. ``gamma`` and ``beta`` have shape (C,).
    """
    if x.ndim < 2:
        raise ValueError(f"x must be (N, C) or (N, C, ...), got shape {tuple(x.shape)}")
    C = x.shape[1]
    if gamma.shape != (C,) or beta.shape != (C,):
        raise ValueError(f"gamma and beta must have shape ({C},), got {tuple(gamma.shape)} and {tuple(beta.shape)}")
    if x.numel() // C < 2:
        raise ValueError("batch norm needs more than one value per channel (a batch of one has no variance)")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    dims = [0, *range(2, x.ndim)]                      # every axis except the channel axis
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    shape = (1, C) + (1,) * (x.ndim - 2)
    return gamma.reshape(shape) * (x - mean) / torch.sqrt(var + eps) + beta.reshape(shape)
