"""The Beta–Binomial model: the one posterior you can write down with a pencil.

Introduced in 01_foundations. A coin with unknown heads-probability θ, a Beta(a, b) prior,
and k heads in n tosses give the posterior Beta(a + k, b + n − k): the prior's parameters
act as pseudo-counts of heads and tails. ``grid_posterior`` computes the same posterior by
brute force (Bayes' rule on a grid), which is how the notebook checks the algebra.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats


def _check_counts(k: int, n: int, a: float, b: float) -> None:
    if int(n) != n or n < 0:
        raise ValueError(f"n (number of trials) must be a non-negative integer, got {n!r}")
    if int(k) != k or not 0 <= k <= n:
        raise ValueError(f"k (number of successes) must be an integer in [0, n={n}], got {k!r}")
    if not (a > 0 and b > 0):
        raise ValueError(f"the Beta prior needs a > 0 and b > 0, got a={a!r}, b={b!r}")


class BetaPosterior(NamedTuple):
    """A Beta(a, b) distribution over a probability θ, with its summaries.

    A named tuple, so ``a, b = beta_binomial_posterior(k, n)`` works as well as ``post.mean``.
    """

    a: float
    b: float

    @property
    def mean(self) -> float:
        """Posterior mean a / (a + b): the Bayes estimate under squared error."""
        return self.a / (self.a + self.b)

    @property
    def map(self) -> float:
        """Posterior mode (MAP), (a − 1) / (a + b − 2); at the boundary when a ≤ 1 or b ≤ 1."""
        if self.a <= 1 and self.b <= 1:
            raise ValueError(f"Beta({self.a}, {self.b}) has no unique mode (a <= 1 and b <= 1)")
        if self.a <= 1:
            return 0.0
        if self.b <= 1:
            return 1.0
        return (self.a - 1) / (self.a + self.b - 2)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.a * self.b / ((self.a + self.b) ** 2 * (self.a + self.b + 1))))

    def credible_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Central (equal-tailed) credible interval holding ``level`` of the posterior mass."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        tail = (1 - level) / 2
        lo, hi = stats.beta.ppf([tail, 1 - tail], self.a, self.b)
        return float(lo), float(hi)

    def pdf(self, theta: np.ndarray) -> np.ndarray:
        return stats.beta.pdf(theta, self.a, self.b)


def beta_binomial_posterior(k: int, n: int, a: float = 1.0, b: float = 1.0) -> BetaPosterior:
    """Posterior over θ after k successes in n trials under a Beta(a, b) prior.

    Introduced in 01_foundations. Conjugacy: Beta(a, b) × θ^k (1 − θ)^(n − k) ∝ Beta(a + k, b + n − k).
    """
    _check_counts(k, n, a, b)
    return BetaPosterior(a + k, b + n - k)


def grid_posterior(k: int, n: int, a: float = 1.0, b: float = 1.0,
                   num_points: int = 2001) -> tuple[np.ndarray, np.ndarray]:
    """Bayes' rule by brute force: the posterior density of θ on a grid of ``num_points`` in (0, 1).

    Introduced in 01_foundations. Computes prior × likelihood on the grid (in log space)
    and normalises by the trapezoid rule; no conjugacy is used. Returns ``(theta, density)``.
    """
    _check_counts(k, n, a, b)
    if num_points < 3:
        raise ValueError(f"num_points must be >= 3, got {num_points}")
    theta = np.linspace(0, 1, num_points + 2)[1:-1]          # open interval: log θ stays finite
    log_post = stats.beta.logpdf(theta, a, b) + stats.binom.logpmf(k, n, theta)
    density = np.exp(log_post - log_post.max())
    density /= np.trapezoid(density, theta)
    return theta, density
