"""Hamiltonian Monte Carlo in a few dozen lines: the reference posterior of 01_foundations.

Introduced in 01_foundations. Many chains run side by side as one batch (a (C, D) tensor),
so a "long run" costs a few seconds on a CPU. Warm-up tunes the step size towards a target
acceptance rate and sets a diagonal mass matrix from the chains' spread; the samples after
warm-up are returned.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

LogProb = Callable[[torch.Tensor], torch.Tensor]   # (C, D) -> (C,)


@dataclass
class HMCResult:
    """``samples``: (num_samples, C, D); ``accept_rate``: mean acceptance after warm-up."""

    samples: torch.Tensor
    accept_rate: float
    step_size: float
    inv_mass: torch.Tensor

    def flat(self) -> torch.Tensor:
        """All draws of all chains as one (num_samples·C, D) tensor."""
        return self.samples.reshape(-1, self.samples.shape[-1])


def _value_and_grad(log_prob: LogProb, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    w = w.detach().requires_grad_(True)
    lp = log_prob(w)
    (grad,) = torch.autograd.grad(lp.sum(), w)        # chains are independent: d(sum)/dw_c = dlp_c/dw_c
    return lp.detach(), grad


def hmc(log_prob: LogProb, init: torch.Tensor, *, num_samples: int = 1000, num_warmup: int = 500,
        step_size: float = 0.1, num_leapfrog: int = 10, target_accept: float = 0.8,
        generator: torch.Generator | None = None) -> HMCResult:
    """Run HMC from ``init`` (C chains × D dimensions) and return the post-warm-up draws.

    Introduced in 01_foundations. ``log_prob`` maps (C, D) positions to (C,) unnormalised
    log-densities. Each iteration: draw momenta p ~ N(0, M), take ``num_leapfrog`` leapfrog
    steps, accept with probability min(1, exp(−ΔH)).
    """
    if init.ndim != 2:
        raise ValueError(f"init must be (chains, D), got shape {tuple(init.shape)}")
    if num_samples < 1 or num_warmup < 0 or num_leapfrog < 1:
        raise ValueError("num_samples and num_leapfrog must be >= 1 and num_warmup >= 0")
    if step_size <= 0 or not 0 < target_accept < 1:
        raise ValueError(f"need step_size > 0 and 0 < target_accept < 1, got {step_size}, {target_accept}")
    return _hmc(log_prob, init, num_samples, num_warmup, step_size, num_leapfrog, target_accept,
                generator or torch.Generator().manual_seed(0))


def _hmc(log_prob: LogProb, init: torch.Tensor, num_samples: int, num_warmup: int, step_size: float,
         num_leapfrog: int, target_accept: float, gen: torch.Generator) -> HMCResult:
    w = init.detach().clone()
    lp, grad = _value_and_grad(log_prob, w)
    inv_mass = torch.ones_like(w[0])                  # diagonal M^{-1}
    log_step = torch.log(torch.tensor(step_size, dtype=torch.float64))
    history, kept, accepted = [], [], []
    for it in range(num_warmup + num_samples):
        eps = float(log_step.exp())
        p = torch.randn(w.shape, generator=gen, dtype=w.dtype) / inv_mass.sqrt()
        h0 = -lp + 0.5 * (p ** 2 * inv_mass).sum(-1)
        w_new, p_new, g_new = w, p + 0.5 * eps * grad, grad
        for step in range(num_leapfrog):
            w_new = w_new + eps * inv_mass * p_new
            lp_new, g_new = _value_and_grad(log_prob, w_new)
            if step < num_leapfrog - 1:
                p_new = p_new + eps * g_new
        p_new = p_new + 0.5 * eps * g_new
        h1 = -lp_new + 0.5 * (p_new ** 2 * inv_mass).sum(-1)
        accept_prob = torch.exp(torch.clamp(h0 - h1, max=0.0)).nan_to_num(0.0)
        accept = torch.rand(accept_prob.shape, generator=gen, dtype=w.dtype) < accept_prob
        w = torch.where(accept[:, None], w_new, w)
        lp = torch.where(accept, lp_new, lp)
        grad = torch.where(accept[:, None], g_new, grad)
        if it < num_warmup:                            # adapt: step size always, mass matrix once
            log_step = log_step + 0.1 * (accept_prob.mean().double() - target_accept)
            history.append(w)
            if it == num_warmup // 2 and it >= 20:
                recent = torch.stack(history[it // 2:])
                inv_mass = recent.reshape(-1, w.shape[1]).var(0).clamp_min(1e-8)
        else:
            kept.append(w)
            accepted.append(accept.float().mean().item())
    return HMCResult(torch.stack(kept), sum(accepted) / len(accepted), float(log_step.exp()), inv_mass)
