"""How well predicted quality agrees with people's opinion scores, and how sure that number is.
Introduced in 11_clip_applications (image-quality assessment), whose exercises rebuild these.

- ``srcc``: Spearman's rank correlation — does the prediction put the images in the right order?
- ``plcc``: Pearson's linear correlation — does it follow the scores along a straight line?
- ``bootstrap_ci``: a percentile-bootstrap confidence interval for either (or any such metric).

Image-quality papers (e.g. VQEG's reports) often compute PLCC only after fitting a monotonic
logistic curve from the predictions to the opinion scores, which forgives a bent scale; here
PLCC is plain Pearson on the raw scores, so a correct but curved prediction loses some.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import stats


def _pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 vectors of one length >= 3, neither constant."""
    p, t = (np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=np.float64).ravel()
            for v in (pred, target))
    if len(p) != len(t):
        raise ValueError(f"pred and target must have one length, got {len(p)} and {len(t)}")
    if len(p) < 3:
        raise ValueError(f"need at least 3 items to correlate, got {len(p)}")
    for name, v in (("pred", p), ("target", t)):
        if np.ptp(v) == 0:
            # a constant has no variance (and no ranking), so the correlation is 0 / 0: undefined
            raise ValueError(f"{name} is constant ({v[0]:g} for all {len(v)} items): the correlation is undefined")
    return p, t


def srcc(pred, target) -> float:
    """Spearman's rank correlation of ``pred`` and ``target`` (scipy.stats.spearmanr), in [-1, 1]."""
    return float(stats.spearmanr(*_pair(pred, target)).statistic)


def plcc(pred, target) -> float:
    """Pearson's linear correlation of ``pred`` and ``target`` (scipy.stats.pearsonr), in [-1, 1].
    Plain Pearson on the raw scores, with no logistic fit first (see the module docstring)."""
    return float(stats.pearsonr(*_pair(pred, target)).statistic)


def bootstrap_ci(metric: Callable[[np.ndarray, np.ndarray], float], pred, target, n_resamples: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(estimate, low, high): ``metric(pred, target)`` on all the items, and the percentile
    bootstrap interval that holds the middle ``level`` of its values on ``n_resamples``
    resamples of the items with replacement.

    Items are resampled as (pred, target) pairs, which keeps each image's prediction with its
    own score. A resample on which the metric is undefined (it raises ``ValueError``, e.g. all
    its scores equal) is left out. ``seed`` makes the interval reproducible.
    """
    p, t = _pair(pred, target)
    if not isinstance(n_resamples, int) or isinstance(n_resamples, bool) or n_resamples < 1:
        raise ValueError(f"n_resamples must be an int >= 1, got {n_resamples!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    rng = np.random.default_rng(seed)
    values = []
    for rows in rng.integers(0, len(p), size=(n_resamples, len(p))):   # each row: one resample
        try:
            values.append(metric(p[rows], t[rows]))
        except ValueError:
            pass
    if not values:
        raise ValueError("the metric was undefined on every resample")
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(metric(p, t)), float(low), float(high)


__all__ = ["srcc", "plcc", "bootstrap_ci"]
