"""The digits judge: a small classifier that scores generated 8×8 digits.

Introduced in 02_vae, used again in 04_diffusion. Like the Inception network behind FID, the
judge is trained once on real digits (the training split, a fixed seed and schedule) and
cached; generated samples are then scored by

- the **Fréchet distance** (FD) between the Gaussians fitted to the judge's features of the
  samples and of real held-out digits — lower is better, real-vs-real is the floor;
- the judge's **confidence**: its mean top-class probability — a blurry or ambiguous sample
  gets a flat prediction;
- for class-conditional samples, how often the judge recognises the requested class.

The judge is never trained by a notebook's learner code: ``load_judge`` builds it (about
two seconds) the first time and reads it from ``genlab.runtime.cache_dir()`` afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.digits import load_digits
from ..runtime import cached_state

VERSION = 1          # bump when the architecture or the schedule changes: the cache rebuilds
FEATURES = 32        # width of the feature layer the Fréchet distance is computed on
EPOCHS, LR, SEED = 40, 2e-3, 0


class Judge(nn.Module):
    """An MLP classifier for flattened 8×8 digits in [0, 1]: 64 → 128 → FEATURES → 10."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, FEATURES), nn.ReLU())
        self.head = nn.Linear(FEATURES, 10)

    @staticmethod
    def _flat(x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim < 2 or x[0].numel() != 64:
            raise ValueError(f"the judge scores 8×8 digits: (N, 64) or (N, 1, 8, 8), got shape {tuple(x.shape)}")
        return x.reshape(len(x), 64).clamp(0, 1)  # samples outside [0, 1] are clipped, like pixels

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self._flat(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _train() -> Judge:
    digits = load_digits()
    torch.manual_seed(SEED)
    judge = Judge()
    opt = torch.optim.Adam(judge.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(SEED)
    X, y = digits.X_train, digits.y_train
    for _ in range(EPOCHS):
        for idx in torch.randperm(len(X), generator=gen).split(64):
            # Light pixel noise makes the judge's features less brittle on generated images.
            noisy = (X[idx] + 0.05 * torch.randn(X[idx].shape, generator=gen)).clamp(0, 1)
            loss = nn.functional.cross_entropy(judge(noisy), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return judge.eval()


def load_judge() -> Judge:
    """The cached judge (built on first use; deterministic: same seed, same schedule)."""
    judge = Judge()
    judge.load_state_dict(cached_state(f"digits-judge-v{VERSION}.pt", _train))
    return judge.eval()


def frechet_distance(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples):
    ``|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)``."""
    a, b = (np.asarray(torch.as_tensor(v).detach().double()) for v in (a, b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (N, D) feature sets with the same D and N >= 2, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr (Σa Σb)^½ = Σ √λ over the eigenvalues of the symmetric Σa^½ Σb Σa^½: stable even when a
    # feature never fires (a singular covariance), where scipy.linalg.sqrtm(Σa Σb) warns.
    root_a = _psd_sqrt(cov_a)
    eig = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_covmean)


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix, via its eigendecomposition."""
    vals, vecs = np.linalg.eigh(m)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


@dataclass
class JudgeScore:
    fd: float                      # Fréchet distance to real test digits (lower is better)
    confidence: float              # mean top-class probability (higher is sharper)
    accuracy: float | None = None  # share recognised as the requested class, if labels given

    def __str__(self) -> str:
        acc = "" if self.accuracy is None else f", class accuracy {self.accuracy:.3f}"
        return f"FD {self.fd:.2f}, confidence {self.confidence:.3f}{acc}"


@torch.no_grad()
def judge_samples(samples: torch.Tensor, labels: torch.Tensor | None = None,
                  judge: Judge | None = None) -> JudgeScore:
    """Score generated digits against the real test split (360 images)."""
    judge = judge or load_judge()
    samples = torch.as_tensor(samples).detach().cpu()
    real = judge.features(load_digits().X_test)
    fake = judge.features(samples)
    probs = judge.head(fake).softmax(-1)
    accuracy = None
    if labels is not None:
        labels = torch.as_tensor(labels).cpu()
        if labels.shape != (len(samples),):
            raise ValueError(f"need one label per sample: {len(samples)}, got shape {tuple(labels.shape)}")
        accuracy = float((probs.argmax(-1) == labels).float().mean())
    return JudgeScore(frechet_distance(fake, real), float(probs.max(-1).values.mean()), accuracy)
