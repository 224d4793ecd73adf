"""The Laplace approximation: a Gaussian at the MAP with the curvature there as precision.

Introduced in 01_foundations. Find w* = argmax log p(w | data) with L-BFGS, then
approximate the posterior by N(w*, (−∇² log p(w*))⁻¹). Cheap (one optimisation and one
Hessian) and exact when the posterior is Gaussian.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class LaplaceResult:
    """``mode``: the MAP estimate (D,); ``cov``: the Gaussian's covariance (D, D)."""

    mode: torch.Tensor
    cov: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return self.cov.diagonal().sqrt()


def find_map(log_prob: Callable[[torch.Tensor], torch.Tensor], init: torch.Tensor,
             max_iter: int = 200) -> torch.Tensor:
    """argmax of ``log_prob`` (a (D,) -> scalar function) by L-BFGS with a strong-Wolfe line search."""
    if init.ndim != 1:
        raise ValueError(f"init must be a vector (D,), got shape {tuple(init.shape)}")
    w = init.detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                            tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = -log_prob(w)
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def laplace_approximation(log_prob: Callable[[torch.Tensor], torch.Tensor],
                          init: torch.Tensor, max_iter: int = 200) -> LaplaceResult:
    """N(w*, H⁻¹) with w* the MAP and H = −∇² log p(w*) computed by autograd.

    Introduced in 01_foundations. Raises ValueError when H is not positive definite
    (the optimiser did not reach a maximum).
    """
    mode = find_map(log_prob, init, max_iter)
    H = -torch.autograd.functional.hessian(log_prob, mode)
    H = 0.5 * (H + H.T)
    L, info = torch.linalg.cholesky_ex(H)
    if info != 0:
        raise ValueError("the negative Hessian at the optimum is not positive definite; "
                         "is log_prob concave there, and did L-BFGS converge?")
    return LaplaceResult(mode, torch.cholesky_inverse(L))
