"""Fan-in scaled initialisation, and what it does to a deep ReLU network's activations.

Introduced in 01_foundations. A pre-activation y = Σᵢ wᵢ xᵢ sums ``fan_in`` terms, so with
independent zero-mean weights

    Var[y] = fan_in · Var[w] · E[x²].

A ReLU keeps half of a symmetric input's second moment (E[relu(y)²] = Var[y] / 2), so the
signal keeps its size from layer to layer only when Var[w] = 2 / fan_in (He et al., 2015).
LeCun's 1 / fan_in is right for linear or tanh-like units but halves the second moment per
ReLU layer; N(0, 1) multiplies it by fan_in / 2.

==========  ===================  ===========================
scheme      Var[w]               second moment per ReLU layer
==========  ===================  ===========================
``normal``  1                    × fan_in / 2
``lecun``   1 / fan_in           × 1/2
``he``      2 / fan_in           × 1
==========  ===================  ===========================
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .batchnorm import batch_norm_forward

SCHEMES = ("normal", "lecun", "he")
StdFn = Callable[[Sequence[int], str], float]
NormFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def fan_in(shape: Sequence[int]) -> int:
    """Inputs per output unit for a weight stored the PyTorch way.

    Linear: (out_features, in_features) → in_features; Conv2d: (out, in, kh, kw) → in·kh·kw.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"a weight shape needs >= 2 positive dims (out, in, ...), got {shape}")
    return math.prod(shape[1:])


def init_std(shape: Sequence[int], scheme: str) -> float:
    """Standard deviation of the initial weights: 1 ('normal'), √(1/fan_in) ('lecun'), √(2/fan_in) ('he').

    Introduced in 01_foundations.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    gain = {"normal": None, "lecun": 1.0, "he": 2.0}[scheme]
    return 1.0 if gain is None else math.sqrt(gain / fan_in(shape))


def init_weight_(weight: torch.Tensor, scheme: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``weight`` in place with N(0, init_std(weight.shape, scheme)²) and return it."""
    std = init_std(weight.shape, scheme)
    with torch.no_grad():
        return weight.normal_(0.0, std, generator=generator)


def deep_relu_mlp(depth: int = 50, width: int = 256, scheme: str = "he", batchnorm: bool = False,
                  generator: torch.Generator | None = None) -> nn.Sequential:
    """``depth`` blocks of Linear(width, width, bias=False) → [BatchNorm1d] → ReLU, initialised by ``scheme``.

    Introduced in 01_foundations.
    """
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be >= 1, got {depth}, {width}")
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width, bias=False)
        init_weight_(linear.weight, scheme, generator)
        layers += [linear, *([nn.BatchNorm1d(width)] if batchnorm else []), nn.ReLU()]
    return nn.Sequential(*layers)


def activation_rms(scheme: str, *, depth: int = 50, width: int = 256, batch_size: int = 512,
                   batchnorm: bool = False, num_nets: int = 1, seed: int = 0, std_fn: StdFn = init_std,
                   norm_fn: NormFn = batch_norm_forward, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """RMS of each block's output (after the ReLU) for N(0, I) inputs: an array of ``depth`` numbers.

    Introduced in 01_foundations. The same network as ``deep_relu_mlp`` written as a loop, so
    the notebook can plug in the learner's ``std_fn(shape, scheme)`` and batch-norm
    ``norm_fn(x, gamma, beta)``. With ``num_nets > 1`` the mean square is pooled over that many
    independently initialised networks (one network's RMS wanders by a factor of about 1.5
    at depth 50, width 256). float64 by default: N(0, 1) weights reach 1e52 at depth 50,
    past float32's 3e38.
    """
    if depth < 1 or width < 1 or batch_size < 2 or num_nets < 1:
        raise ValueError(f"need depth >= 1, width >= 1, batch_size >= 2, num_nets >= 1; "
                         f"got {depth}, {width}, {batch_size}, {num_nets}")
    g = torch.Generator().manual_seed(seed)
    gamma, beta = torch.ones(width, dtype=dtype), torch.zeros(width, dtype=dtype)
    std = std_fn((width, width), scheme)
    mean_square = np.zeros(depth)
    with torch.no_grad():
        for _ in range(num_nets):
            x = torch.randn(batch_size, width, generator=g, dtype=dtype)
            for layer in range(depth):
                W = torch.randn(width, width, generator=g, dtype=dtype) * std    # (out, in), like nn.Linear
                h = x @ W.T
                if batchnorm:
                    h = norm_fn(h, gamma, beta)
                x = torch.relu(h)
                mean_square[layer] += x.pow(2).mean().item() / num_nets
    return np.sqrt(mean_square)
