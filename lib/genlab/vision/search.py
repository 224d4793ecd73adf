"""Searching a gallery of embeddings, and telling outliers from it. Introduced in
11_clip_applications (location search, outlier rejection), whose exercises rebuild these.

- ``cosine_topk``: the ``k`` gallery items most similar to each query (exact search, in chunks).
- ``knn_outlier_score``: how far a query lies from its k-th nearest neighbour in an index
  (Sun et al. 2022) — no assumption on the shape of the data.
- ``Mahalanobis``: how far a query lies from one Gaussian fitted to the index (Lee et al. 2018).
- ``neighbour_recall``: how many of the exact nearest neighbours an approximate index finds.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from torch.nn import functional as F

MAX_SIMILARITY_BYTES = 64 * 2**20   # the most memory one chunk of query × gallery similarities takes


def _check_features(x, name: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty (N, D) tensor, got {type(x).__name__} "
                         f"of shape {tuple(getattr(x, 'shape', ()))}")


def cosine_topk(queries: torch.Tensor, gallery: torch.Tensor, k: int, *,
                max_bytes: int = MAX_SIMILARITY_BYTES) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q, D) queries, (G, D) gallery → (Q, k) cosine similarities, best first, and the (Q, k)
    int64 gallery indices they belong to.

    Both sides are L2-normalised here (into new tensors; the inputs are left as they are), so
    a feature's length never changes its rank. The (Q, G) similarity matrix is never built
    whole: queries go through in chunks of rows whose similarities take at most ``max_bytes``
    (64 MiB: about 335 queries at a time against 50,000 float32 items).
    """
    _check_features(queries, "queries")
    _check_features(gallery, "gallery")
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"queries and gallery must have the same feature dimension, got "
                         f"{queries.shape[1]} and {gallery.shape[1]}")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= len(gallery):
        raise ValueError(f"k must be an int in [1, {len(gallery)}] (the gallery's size), got {k!r}")
    q, g = F.normalize(queries, dim=1), F.normalize(gallery, dim=1)
    rows = max(1, max_bytes // (len(g) * g.element_size()))
    scores, indices = [], []
    for start in range(0, len(q), rows):
        s, i = (q[start:start + rows] @ g.T).topk(k, dim=1)   # topk sorts, largest first
        scores.append(s)
        indices.append(i)
    return torch.cat(scores), torch.cat(indices)


def knn_outlier_score(query_features: torch.Tensor, index_features: torch.Tensor, k: int = 10,
                      exclude_self: bool = False) -> torch.Tensor:
    """(Q,) outlier scores: the cosine distance (1 − cosine similarity) from each query to its
    ``k``-th nearest neighbour in the index; higher = more outlying (Sun et al. 2022, "Out-of-
    distribution detection with deep nearest neighbors", ICML — features normalised first).

    ``exclude_self=True`` scores the index's own items (``query_features`` is the index, row
    for row): each item's match with itself — at distance 0 — is skipped, or every item would
    look like the most typical of all with k = 1.
    """
    # k: Sun et al. used k = 50 on CIFAR-10 and k = 1000 on ImageNet. What suits an index
    # depends on how many items a typical inlier has close by; 11_clip_applications measures it.
    _check_features(query_features, "query_features")
    _check_features(index_features, "index_features")
    most = len(index_features) - exclude_self        # an item cannot be its own neighbour
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= most:
        raise ValueError(f"k must be an int in [1, {most}], got {k!r}")
    if exclude_self and query_features.shape != index_features.shape:
        raise ValueError(f"exclude_self=True scores the index's own items: query_features must be the "
                         f"index, got shapes {tuple(query_features.shape)} and {tuple(index_features.shape)}")
    if not exclude_self:
        scores, _ = cosine_topk(query_features, index_features, k)
        return 1 - scores[:, -1]
    scores, indices = cosine_topk(query_features, index_features, k + 1)
    own = indices == torch.arange(len(indices), device=indices.device)[:, None]
    # drop each item's own match (to -inf, then re-sort); if ties hid it, the (k+1)-th goes unused
    rest = scores.masked_fill(own, -torch.inf).sort(dim=1, descending=True).values
    return 1 - rest[:, k - 1]


class Mahalanobis:
    """The squared Mahalanobis distance to one Gaussian fitted to the index's features; higher =
    more outlying. Lee et al. 2018 ("A simple unified framework for detecting out-of-distribution
    samples and adversarial attacks", NeurIPS) fit one Gaussian per class with a shared
    covariance; an index without labels gets a single one."""

    def fit(self, features) -> Mahalanobis:
        """Mean and covariance of (N, D) features. The covariance is shrunk towards a multiple
        of the identity (Ledoit & Wolf 2004, by an amount estimated from the data): with 64-d
        features and a few thousand items the plain estimate's smallest eigenvalues are too
        small and noisy, and inverting it blows them up; shrinkage keeps the inverse stable."""
        x = np.asarray(torch.as_tensor(features).detach().cpu(), dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"features must be (N, D) with N >= 2, got shape {x.shape}")
        estimate = LedoitWolf().fit(x)
        self.mean, self.precision, self.shrinkage = estimate.location_, estimate.precision_, estimate.shrinkage_
        return self

    def score(self, features) -> torch.Tensor:
        """(N,) float64 squared distances (x − μ)ᵀ Σ⁻¹ (x − μ) of (N, D) features."""
        if not hasattr(self, "precision"):
            raise ValueError("call fit(index_features) before score()")
        x = np.asarray(torch.as_tensor(features).detach().cpu(), dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(f"features must be (N, {len(self.mean)}), got shape {x.shape}")
        d = x - self.mean
        return torch.from_numpy(np.einsum("nd,de,ne->n", d, self.precision, d))


def neighbour_recall(approx_ids, exact_ids) -> float:
    """recall@k of an approximate index: the mean over queries of |approx ∩ exact| / k, for
    (Q, k) neighbour ids from the approximate and from exact search (as FAISS and
    ANN-benchmarks report it). An id of -1 (FAISS's "no result") never counts as found."""
    a, e = np.asarray(approx_ids), np.asarray(exact_ids)
    if a.ndim != 2 or a.shape != e.shape or a.size == 0:
        raise ValueError(f"approx_ids and exact_ids must both be (Q, k), of one shape, got {a.shape} and {e.shape}")
    # for each exact neighbour: is it anywhere in the approximate list?
    found = ((a[:, :, None] == e[:, None, :]) & (e[:, None, :] != -1)).any(axis=1)
    return float(found.sum(axis=1).mean() / e.shape[1])


__all__ = ["MAX_SIMILARITY_BYTES", "cosine_topk", "knn_outlier_score", "Mahalanobis", "neighbour_recall"]
