"""Plots shared by the notebooks (matplotlib only). Introduced in 00_orientation."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def plot_history(history: "Mapping[str, Sequence[float]] | object", keys: Sequence[str] | None = None,
                 *, ax: plt.Axes | None = None, logy: bool = False, title: str | None = None) -> plt.Axes:
    """Plot training curves: one line per key of a ``genlab.train.History`` (or a dict of lists)."""
    series = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    keys = list(keys) if keys is not None else [k for k in series if k != "epoch"]
    missing = [k for k in keys if k not in series]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(series)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for key in keys:
        ax.plot(range(1, len(series[key]) + 1), series[key], marker=".", label=key)
    ax.set_xlabel("epoch")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def show_images(images: "torch.Tensor | np.ndarray", titles: Sequence[str] | None = None,
                *, ncols: int = 10, scale: float = 1.0, cmap: str = "gray_r") -> plt.Figure:
    """Show a grid of images given as (N, H, W), (N, 1, H, W) or (N, 3, H, W)."""
    x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if x.ndim == 4 and x.shape[1] in (1, 3):
        x = x.transpose(0, 2, 3, 1)
        if x.shape[-1] == 1:
            x = x[..., 0]
    if x.ndim not in (3, 4):
        raise ValueError(f"images must be (N,H,W), (N,1,H,W) or (N,3,H,W); got shape {x.shape}")
    if titles is not None and len(titles) != len(x):
        raise ValueError(f"got {len(titles)} titles for {len(x)} images")
    n = len(x)
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows * 1.1), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(x[i], cmap=cmap if x.ndim == 3 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig
