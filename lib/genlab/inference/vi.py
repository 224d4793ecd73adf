"""Mean-field Gaussian variational inference, with the reparameterisation trick.

Introduced in 01_foundations (Bayesian logistic regression); 02_vae reuses
``reparameterize`` and ``gaussian_kl``.

The approximate posterior is q(w) = N(μ, diag(σ²)) with σ = exp(log σ) (so σ stays
positive while the optimiser moves freely). The evidence lower bound is

    ELBO(μ, σ) = E_q[log p(y, w | X)] + H[q]  ≤  log p(y | X),

and with w = μ + σ ⊙ ε, ε ~ N(0, I), the expectation becomes an average over ε that is
differentiable in μ and σ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..runtime import Budget
from ..train import set_lr, warmup_cosine
from .logistic import log_joint

ElboFn = Callable[..., torch.Tensor]


def _check_mu_log_sigma(mu: torch.Tensor, log_sigma: torch.Tensor) -> None:
    if mu.shape != log_sigma.shape:
        raise ValueError(f"mu and log_sigma must have the same shape, got {tuple(mu.shape)} "
                         f"and {tuple(log_sigma.shape)}")


def reparameterize(mu: torch.Tensor, log_sigma: torch.Tensor, n_samples: int | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Samples w = μ + exp(log σ) ⊙ ε with ε ~ N(0, I), differentiable in μ and log σ.

    Introduced in 01_foundations. ``n_samples=None`` returns one sample shaped like ``mu``;
    an int returns ``(n_samples, *mu.shape)``.
    """
    _check_mu_log_sigma(mu, log_sigma)
    if n_samples is not None and (int(n_samples) != n_samples or n_samples < 1):
        raise ValueError(f"n_samples must be a positive int or None, got {n_samples!r}")
    shape = mu.shape if n_samples is None else (int(n_samples), *mu.shape)
    eps = torch.randn(shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + log_sigma.exp() * eps


def gaussian_entropy(log_sigma: torch.Tensor) -> torch.Tensor:
    """Entropy of N(μ, diag(σ²)), summed over the last dimension: Σ_d log σ_d + ½ log(2πe)."""
    return (log_sigma + 0.5 * math.log(2 * math.pi * math.e)).sum(-1)


def gaussian_kl(mu: torch.Tensor, log_sigma: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """KL(N(μ, diag(σ²)) ‖ N(0, prior_std² I)) in closed form, summed over the last dimension.

    Introduced in 01_foundations; 02_vae uses it with prior_std = 1:
    KL = ½ Σ_d [(σ_d² + μ_d²)/s² − 1 − 2 log σ_d + 2 log s].
    """
    _check_mu_log_sigma(mu, log_sigma)
    if not prior_std > 0:
        raise ValueError(f"prior_std must be positive, got {prior_std!r}")
    s2 = prior_std ** 2
    return 0.5 * ((torch.exp(2 * log_sigma) + mu ** 2) / s2 - 1 - 2 * log_sigma + math.log(s2)).sum(-1)


def elbo_logistic(mu: torch.Tensor, log_sigma: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                  eps: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """Reparameterised Monte-Carlo ELBO of Bayesian logistic regression (a scalar tensor).

    Introduced in 01_foundations. ``mu``, ``log_sigma``: (D,); ``X``: (N, D); ``y``: (N,)
    in {0, 1}; ``eps``: (S, D) standard-normal noise. With w_s = μ + σ ⊙ ε_s,

        ELBO ≈ (1/S) Σ_s [log p(y | X, w_s) + log N(w_s; 0, prior_std² I)] + H[q],

    every constant included, the likelihood summed (not averaged) over the N data points.
    """
    _check_mu_log_sigma(mu, log_sigma)
    if mu.ndim != 1:
        raise ValueError(f"mu must be a vector (D,), got shape {tuple(mu.shape)}")
    if eps.ndim != 2 or eps.shape[1] != mu.shape[0]:
        raise ValueError(f"eps must be (S, D={mu.shape[0]}), got shape {tuple(eps.shape)}")
    w = mu + log_sigma.exp() * eps                       # (S, D): the reparameterisation trick
    return log_joint(w, X, y, prior_std).mean() + gaussian_entropy(log_sigma)


@dataclass
class MeanFieldFit:
    """Result of ``fit_mean_field``: the variational means and standard deviations, and the ELBO per step."""

    mu: torch.Tensor
    sigma: torch.Tensor
    elbo: list[float] = field(default_factory=list)
    seconds: float = 0.0


def fit_mean_field(X: torch.Tensor, y: torch.Tensor, *, prior_std: float = 1.0,
                   max_steps: int = 2000, num_samples: int = 16, lr: float = 0.05,
                   elbo_fn: ElboFn = elbo_logistic, seed: int = 0) -> MeanFieldFit:
    """Maximise the ELBO over (μ, log σ) with ``max_steps`` Adam steps; returns a ``MeanFieldFit``.

    Introduced in 01_foundations. Fresh noise ε of shape (num_samples, D) is drawn every
    step and passed to ``elbo_fn(mu, log_sigma, X, y, eps, prior_std)`` (the notebook passes
    the learner's ELBO). The learning rate follows the course's schedule, ``train.warmup_cosine``,
    from ``lr`` down to 5 % of it, so the final iterate is not dominated by Monte-Carlo noise.
    """
    if max_steps < 1 or num_samples < 1:
        raise ValueError(f"max_steps and num_samples must be >= 1, got {max_steps}, {num_samples}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    budget = Budget(None)                                # a stopwatch: no time limit
    D = X.shape[1]
    generator = torch.Generator().manual_seed(seed)
    mu = torch.zeros(D, dtype=X.dtype, requires_grad=True)
    log_sigma = torch.full((D,), math.log(0.1), dtype=X.dtype, requires_grad=True)
    opt = torch.optim.Adam([mu, log_sigma], lr=lr)
    history = []
    for step in range(max_steps):
        set_lr(opt, lr * warmup_cosine(step / max_steps, min_ratio=0.05))
        eps = torch.randn(num_samples, D, generator=generator, dtype=X.dtype)
        loss = -elbo_fn(mu, log_sigma, X, y, eps, prior_std)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the ELBO became {-loss.item()}; check the ELBO function")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(-loss.item())
    return MeanFieldFit(mu.detach().clone(), log_sigma.detach().exp(), history, budget.elapsed)
