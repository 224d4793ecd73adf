"""Bayesian optimisation in a VAE's latent space. Introduced in 08_netformer.

``netformer.NetformerVAE`` gives every NAS-Bench-201 cell a continuous code μ. Search there needs
a model that predicts accuracy from a code and says how sure it is, and a rule that trades a high
prediction against a large uncertainty:

- ``GPPredictor``: a Gaussian process regressor on codes (Rasmussen & Williams, algorithm 2.1),
  its length-scale and noise picked by the marginal likelihood from a small grid;
- ``expected_improvement``: BO's classic acquisition function;
- ``GPSearch``: the BO loop (06's ``propose / tell / best``): fit the GP on the codes of the cells
  told so far, propose candidates near the best ones, query the highest expected improvement;
- ``LatentSearch``: codes are the VAE's μ, candidates decoded from latents near the best codes;
- ``OneHotSearch``: the same loop with 06's one-hot codes and one mutation of a best cell as
  candidates — the baseline that says what the latent space adds;
- ``canonical=True`` (either search): code each cell by its class representative
  (``space.representative``) and never query a function twice — the topology-aware encoding.
"""
from __future__ import annotations

import numpy as np
import torch

from .netformer import NB201_MAX_LEN, NB201_VOCAB, NetformerVAE, decode_cells, encode_cells, encode_mu
from .search import ModelBasedStrategy
from .space import Ops, canonical, mutate, one_hot, random_cell, representative


class GPPredictor:
    """A Gaussian process regressor on latent codes, small enough to read (and fit in milliseconds).

    Prior f ~ GP(0, k) on standardised targets with k(z, z') = exp(−‖z − z'‖² / 2ℓ²), and
    Gaussian noise of variance σ_n². ℓ (relative to the median distance between training codes)
    and σ_n² are chosen from a small grid by the log marginal likelihood; the posterior mean and
    standard deviation are the textbook formulas (Rasmussen & Williams, algorithm 2.1).
    """

    SCALES = (0.25, 0.5, 1.0, 2.0)      # ℓ / median distance
    NOISES = (0.01, 0.1, 0.3)           # σ_n², in units of the targets' variance

    def __init__(self):
        self.Z = None

    @staticmethod
    def _sq_dists(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return np.maximum((A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * A @ B.T, 0.0)

    def fit(self, Z: np.ndarray, y: np.ndarray) -> "GPPredictor":
        Z, y = np.asarray(Z, dtype=float), np.asarray(y, dtype=float)
        if Z.ndim != 2 or y.ndim != 1 or len(Z) != len(y) or len(y) < 2:
            raise ValueError(f"need Z (n, d) and y (n,) with n >= 2, got {Z.shape} and {y.shape}")
        self.y_mean, self.y_std = y.mean(), y.std() + 1e-12
        t = (y - self.y_mean) / self.y_std
        D = self._sq_dists(Z, Z)
        median = np.sqrt(np.median(D[np.triu_indices(len(Z), 1)])) + 1e-12
        best = -np.inf
        for scale in self.SCALES:
            K = np.exp(-D / (2 * (scale * median) ** 2))
            for noise in self.NOISES:
                L = np.linalg.cholesky(K + noise * np.eye(len(Z)))
                alpha = np.linalg.solve(L.T, np.linalg.solve(L, t))
                log_ml = -0.5 * t @ alpha - np.log(np.diag(L)).sum()
                if log_ml > best:
                    best, self.length, self.noise, self.L, self.alpha = log_ml, scale * median, noise, L, alpha
        self.Z = Z
        return self

    def predict(self, Z: np.ndarray, return_std: bool = False):
        """Posterior mean (and standard deviation of f) at codes ``Z``, in the targets' units."""
        if self.Z is None:
            raise ValueError("fit the predictor first")
        Ks = np.exp(-self._sq_dists(np.asarray(Z, dtype=float), self.Z) / (2 * self.length ** 2))
        mean = self.y_mean + self.y_std * Ks @ self.alpha
        if not return_std:
            return mean
        v = np.linalg.solve(self.L, Ks.T)
        return mean, self.y_std * np.sqrt(np.maximum(1.0 - (v ** 2).sum(0), 1e-12))


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """E[max(f − best, 0)] for f ~ N(mean, std²): BO's classic acquisition function."""
    from scipy.stats import norm

    std = np.maximum(std, 1e-9)
    u = (mean - best) / std
    return (mean - best) * norm.cdf(u) + std * norm.pdf(u)


class GPSearch(ModelBasedStrategy):
    """Bayesian optimisation over cells: a GP on a vector code of each cell, expected improvement.

    The first ``num_init`` cells are random. Then, whenever its queue is empty, it fits a
    ``GPPredictor`` on the codes of every cell it was told, asks ``_candidates`` for
    ``num_candidates`` cells near its ``top_k`` best, drops those already queried, and queues the
    ``batch_size`` with the highest expected improvement (EI). Subclasses say what a code is
    (``_code``) and where candidates come from (``_candidates``). With ``canonical=True`` a cell is
    coded by its class representative and a candidate whose function was already queried is
    dropped: equivalent cells share one code and cost no second query.
    """

    def __init__(self, num_init: int = 10, batch_size: int = 5, num_candidates: int = 200, top_k: int = 5,
                 canonical: bool = False, seed: int = 0):
        super().__init__(num_init, seed)
        if num_init < 2 or batch_size < 1 or num_candidates < batch_size or top_k < 1:
            raise ValueError("need num_init >= 2, num_candidates >= batch_size >= 1, top_k >= 1")
        self.batch_size, self.num_candidates, self.top_k = batch_size, num_candidates, top_k
        self.canonical = canonical
        if canonical:
            self.name += " (canonical)"

    def _code(self, cells: list[Ops]) -> np.ndarray:
        raise NotImplementedError

    def _candidates(self, top: list[Ops]) -> list[Ops | None]:
        raise NotImplementedError

    def _key(self, cell: Ops):
        return canonical(cell) if self.canonical else cell

    def _codes(self, cells: list[Ops]) -> np.ndarray:
        return self._code([representative(c) if self.canonical else c for c in cells])

    def _refill(self) -> None:
        cells = [c for c, _ in self.history]
        y = np.array([s for _, s in self.history])
        gp = GPPredictor().fit(self._codes(cells), y)
        top = [cells[i] for i in np.argsort(-y, kind="stable")[: self.top_k]]
        seen = {self._key(c) for c in cells}
        cands: dict = {}
        for c in self._candidates(top):
            if c is not None and self._key(c) not in seen:
                cands.setdefault(self._key(c), c)
        while len(cands) < self.batch_size:      # every candidate was queried already: explore
            c = random_cell(self.rng)
            if self._key(c) not in seen:
                cands.setdefault(self._key(c), c)
        cands = list(cands.values())
        mean, std = gp.predict(self._codes(cands), return_std=True)
        ei = expected_improvement(mean, std, float(y.max()))
        self.queue = [cands[i] for i in np.argsort(-ei, kind="stable")[: self.batch_size]]


class LatentSearch(GPSearch):
    """BO in the VAE's latent space: codes are μ; candidates are the μ of the ``top_k`` best cells
    plus Gaussian noise of scale ``sigma``, decoded greedily to cells (malformed ones dropped)."""

    name = "latent BO"

    def __init__(self, model: NetformerVAE, num_init: int = 10, batch_size: int = 5, num_candidates: int = 200,
                 top_k: int = 5, sigma: float = 2.5, canonical: bool = False, seed: int = 0):
        super().__init__(num_init, batch_size, num_candidates, top_k, canonical, seed)
        if model.config.max_len != NB201_MAX_LEN or model.config.vocab_size != len(NB201_VOCAB):
            raise ValueError("LatentSearch needs a NetformerVAE trained on NAS-Bench-201 cells")
        if sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.model, self.sigma = model, sigma
        self.gen = torch.Generator().manual_seed(seed)
        self.model.eval()
        self._mu: dict[Ops, np.ndarray] = {}

    def _code(self, cells: list[Ops]) -> np.ndarray:
        new = list(dict.fromkeys(c for c in cells if c not in self._mu))
        if new:
            for c, m in zip(new, encode_mu(self.model, encode_cells(new)).double().numpy()):
                self._mu[c] = m
        return np.stack([self._mu[c] for c in cells])

    def _candidates(self, top: list[Ops]) -> list[Ops | None]:
        z_top = torch.tensor(self._codes(top), dtype=torch.float32)
        parents = z_top[torch.randint(len(z_top), (self.num_candidates,), generator=self.gen)]
        z = parents + self.sigma * torch.randn(parents.shape, generator=self.gen)
        return decode_cells(self.model.generate(z))


class OneHotSearch(GPSearch):
    """The same BO loop on 06's one-hot codes; candidates are one mutation of a ``top_k`` cell."""

    name = "one-hot BO"

    def _code(self, cells: list[Ops]) -> np.ndarray:
        return np.array([one_hot(c) for c in cells])

    def _candidates(self, top: list[Ops]) -> list[Ops | None]:
        return [mutate(self.rng.choice(top), self.rng) for _ in range(self.num_candidates)]


__all__ = ["GPPredictor", "expected_improvement", "GPSearch", "LatentSearch", "OneHotSearch"]
