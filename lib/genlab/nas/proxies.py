"""Zero-cost proxies: score an *untrained* network from one minibatch. Introduced in 06_nas_search.

Every proxy has the same interface, ``proxy(net, X, y) -> float`` (higher = predicted better),
and none changes ``net``. Following Abdelfattah et al. (ICLR 2021) and Mellor et al. (ICML 2021):

- ``grad_norm``: sum over conv/linear layers of ‖∂L/∂W‖ — how hard the loss pulls at init;
- ``snip``: Σ |W ⊙ ∂L/∂W| — how much the loss would change if each weight were removed;
- ``synflow``: Σ |W ⊙ ∂R/∂W| with all weights made positive, an all-ones input and R the sum
  of the outputs — data-free, measures how much signal flows through the network;
- ``naswot``: log|det K|, K the Hamming-similarity kernel of the ReLU on/off codes of the
  batch — a network that separates inputs well at init gets distinct codes;
- ``jacob_cov``: how uncorrelated the input Jacobians of different images are.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Proxy = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]


def _weighted_layers(net: nn.Module) -> list[nn.Module]:
    """Conv and linear layers the last backward pass reached (an edge into a dead node is not)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None]


def _loss_grads(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[nn.Module, list[nn.Module]]:
    """A copy of ``net`` (train mode) after one backward pass of the cross-entropy."""
    net = copy.deepcopy(net).train()
    net.zero_grad()
    F.cross_entropy(net(X), y).backward()
    return net, _weighted_layers(net)


def grad_norm(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Σ over conv/linear layers of the Frobenius norm of ∂L/∂W."""
    _, layers = _loss_grads(net, X, y)
    return float(sum(m.weight.grad.norm() for m in layers))


def snip(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Σ |W ⊙ ∂L/∂W| over conv/linear weights (connection sensitivity, Lee et al. 2019)."""
    _, layers = _loss_grads(net, X, y)
    return float(sum((m.weight.detach() * m.weight.grad).abs().sum() for m in layers))


def synflow(net: nn.Module, X: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """Σ |W ⊙ ∂R/∂W|, R = sum of outputs for an all-ones input, weights replaced by |W|.

    Computed in float64 (the product of many positive weights overflows float32 in deep
    nets) and in eval mode, so batch norm is a fixed scaling rather than a normaliser
    (the original code builds the network without batch norm for this proxy).
    """
    net = copy.deepcopy(net).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    net(torch.ones((1,) + tuple(X.shape[1:]), dtype=torch.float64)).sum().backward()
    return float(sum((m.weight.detach() * m.weight.grad).abs().sum() for m in _weighted_layers(net)))


def naswot(net: nn.Module, X: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """log|det K| with K[i, j] = number of ReLUs on which images i and j agree (on or off)."""
    net = copy.deepcopy(net).train()
    codes = []
    hooks = [m.register_forward_hook(lambda m, inp, out: codes.append((out > 0).flatten(1).double()))
             for m in net.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(X)
    for h in hooks:
        h.remove()
    c = torch.cat(codes, dim=1)
    K = c @ c.T + (1 - c) @ (1 - c).T
    return float(torch.linalg.slogdet(K)[1])


def jacob_cov(net: nn.Module, X: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """−Σ (log(λ + k) + 1/(λ + k)) over the eigenvalues λ of the correlation matrix of the
    per-image input Jacobians (Mellor et al., v1): higher when the Jacobians are uncorrelated."""
    net = copy.deepcopy(net).train()
    X = X.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(X).sum(), X, allow_unused=True)
    if grad is None:                       # the output ignores the input (a zero cell)
        grad = torch.zeros_like(X)
    J = grad.flatten(1).numpy().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):   # a constant Jacobian has no correlation
        corr = np.nan_to_num(np.corrcoef(J), nan=0.0)
    lam = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(np.abs(lam) + k) + 1.0 / (np.abs(lam) + k)))


PROXIES: dict[str, Proxy] = {"grad_norm": grad_norm, "snip": snip, "synflow": synflow,
                             "naswot": naswot, "jacob_cov": jacob_cov}


def score_cells(cells, proxy: str | Proxy, X: torch.Tensor, y: torch.Tensor, seed: int = 0,
                channels: int = 16) -> np.ndarray:
    """A proxy's score for each cell's freshly initialised benchmark network (seeded per cell)."""
    from .network import build_network

    if isinstance(proxy, str) and proxy not in PROXIES:
        raise ValueError(f"unknown proxy {proxy!r}; choose from {sorted(PROXIES)}")
    fn = PROXIES[proxy] if isinstance(proxy, str) else proxy
    out = []
    for cell in cells:
        torch.manual_seed(seed)
        out.append(fn(build_network(cell, channels=channels), X, y))
    return np.array(out)
