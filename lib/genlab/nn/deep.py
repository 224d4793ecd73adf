"""A deep ReLU network and its per-layer gradient norms: 01_foundations' build exercise.

Introduced in 01_foundations, where the learner writes both and trains the network for a few
steps under He, LeCun and batch norm. Keeping the *forward* signal's variance constant (He,
or batch norm) is what section 7 derives; whether the network then *trains* depends on the
gradients that reach each layer, which ``layer_grad_norms`` measures.

``DeepReLUNet`` is ``depth`` blocks of Linear (no bias) → [batch norm] → ReLU, then a linear
head. The first block maps ``in_features → width``, the others ``width → width``, so the first
weight's fan-in differs from the rest. Each block's weight is drawn from
N(0, std_fn(weight.shape, scheme)²); with ``batchnorm`` each block has a scale γ (ones) and a
shift β (zeros), rows of the ``gamma`` and ``beta`` parameters, and normalises with
``norm_fn`` (training-mode batch statistics, as ``batch_norm_forward``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .batchnorm import batch_norm_forward
from .init import SCHEMES, init_std

StdFn = Callable[[Sequence[int], str], float]
NormFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class DeepReLUNet(nn.Module):
    """``depth`` blocks Linear(bias=False) → [batch norm] → ReLU, then ``head`` = Linear(width, num_classes).

    Parameters: ``layers`` (an ``nn.ModuleList`` of the ``depth`` Linear layers), ``gamma`` and
    ``beta`` (each ``(depth, width)``, only with ``batchnorm``; ``None`` otherwise) and ``head``
    (PyTorch's default initialisation). ``generator`` draws the blocks' weights.
    """

    def __init__(self, in_features: int, width: int, depth: int, num_classes: int, scheme: str = "he",
                 batchnorm: bool = False, *, std_fn: StdFn = init_std, norm_fn: NormFn = batch_norm_forward,
                 generator: torch.Generator | None = None):
        super().__init__()
        for name, value in (("in_features", in_features), ("width", width), ("depth", depth),
                            ("num_classes", num_classes)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.batchnorm, self.norm_fn = batchnorm, norm_fn
        sizes = [in_features] + [width] * depth
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.normal_(0.0, std_fn(tuple(layer.weight.shape), scheme), generator=generator)
        self.gamma = nn.Parameter(torch.ones(depth, width)) if batchnorm else None
        self.beta = nn.Parameter(torch.zeros(depth, width)) if batchnorm else None
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_features) → logits (N, num_classes)."""
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.batchnorm:
                x = self.norm_fn(x, self.gamma[i], self.beta[i])
            x = torch.relu(x)
        return self.head(x)


def layer_grad_norms(model: DeepReLUNet, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """‖∂L/∂W_l‖ for every block's weight W_l, with L the mean cross-entropy of ``model(X)`` and ``y``.

    Introduced in 01_foundations. Clears the old gradients first (``model.zero_grad()``), so two
    calls give the same numbers, and leaves the new ones in each parameter's ``.grad``: an
    optimiser step may follow. Returns a detached tensor of shape ``(depth,)``, layer 1 first.
    """
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    return torch.stack([layer.weight.grad.norm() for layer in model.layers]).detach()
