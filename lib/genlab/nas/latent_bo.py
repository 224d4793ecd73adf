"""Bayesian optimisation in a VAE's latent space. Introduced in 08_netformer.

``netformer.NetformerVAE`` gives every NAS-Bench-201 cell a continuous code μ. Search there needs
a model that predicts accuracy from a code and says how sure it is, and a rule that trades a high
prediction against a large uncertainty:

- ``GPPredictor``: a Gaussian process regressor on codes (Rasmussen & Williams, algorithm 2.1),
  its length-scale and noise picked by the marginal likelihood from a small grid;
- ``expected_improvement``: BO's classic acquisition function;
- ``LatentSearch``: a ``search.Strategy`` (06's ``propose / tell / best``) that decodes latents
  near the best cells it was told and queries those with the highest expected improvement.
"""
from __future__ import annotations

import numpy as np
import torch

from .netformer import NB201_MAX_LEN, NB201_VOCAB, NetformerVAE, decode_cells, encode_cells, encode_mu
from .search import ModelBasedStrategy
from .space import Ops, random_cell


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


class LatentSearch(ModelBasedStrategy):
    """Bayesian optimisation in the VAE's latent space, behind 06's ``propose / tell / best``.

    The first ``num_init`` cells are random. Then, whenever its queue is empty, it fits a
    ``GPPredictor`` on μ of every cell it was told, draws ``num_candidates`` latents — the μ of
    its ``top_k`` best cells plus Gaussian noise of scale ``sigma`` — decodes them greedily to
    cells, drops malformed and already queried ones, and queues the ``batch_size`` with the
    highest expected improvement (EI) under the GP.
    """

    name = "latent BO"

    def __init__(self, model: NetformerVAE, num_init: int = 10, batch_size: int = 5, num_candidates: int = 200,
                 top_k: int = 5, sigma: float = 2.5, seed: int = 0):
        super().__init__(num_init, seed)
        if model.config.max_len != NB201_MAX_LEN or model.config.vocab_size != len(NB201_VOCAB):
            raise ValueError("LatentSearch needs a NetformerVAE trained on NAS-Bench-201 cells")
        if num_init < 2 or batch_size < 1 or num_candidates < batch_size or top_k < 1 or sigma <= 0:
            raise ValueError("need num_init >= 2, num_candidates >= batch_size >= 1, top_k >= 1, sigma > 0")
        self.model, self.batch_size = model, batch_size
        self.num_candidates, self.top_k, self.sigma = num_candidates, top_k, sigma
        self.gen = torch.Generator().manual_seed(seed)
        self.model.eval()
        self._mu: dict[Ops, np.ndarray] = {}

    def _embed(self, cells: list[Ops]) -> np.ndarray:
        new = [c for c in cells if c not in self._mu]
        if new:
            for c, m in zip(new, encode_mu(self.model, encode_cells(new)).double().numpy()):
                self._mu[c] = m
        return np.stack([self._mu[c] for c in cells])

    def _refill(self) -> None:
        cells = [c for c, _ in self.history]
        y = np.array([s for _, s in self.history])
        Z = self._embed(cells)
        gp = GPPredictor().fit(Z, y)
        top = torch.tensor(Z[np.argsort(-y)[: self.top_k]], dtype=torch.float32)
        parents = top[torch.randint(len(top), (self.num_candidates,), generator=self.gen)]
        z = parents + self.sigma * torch.randn(parents.shape, generator=self.gen)
        seen = set(cells)
        cands = list(dict.fromkeys(c for c in decode_cells(self.model.generate(z)) if c is not None and c not in seen))
        while len(cands) < self.batch_size:      # the decoder only found cells already queried: explore
            cell = random_cell(self.rng)
            if cell not in seen and cell not in cands:
                cands.append(cell)
        mean, std = gp.predict(self._embed(cands), return_std=True)
        ei = expected_improvement(mean, std, float(y.max()))
        self.queue = [cands[i] for i in np.argsort(-ei)[: self.batch_size]]


__all__ = ["GPPredictor", "expected_improvement", "LatentSearch"]
