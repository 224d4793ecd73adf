"""Image distortions with a known severity, and a quality data set scored from it.

Introduced in 11_clip_applications (image-quality assessment). Each distortion takes images
(N, C, H, W) float in [0, 1] and a severity in [0, 1] — one number, or one per image — and
returns new images; severity 0 leaves the images as they are (JPEG at quality 100 comes within
a couple of grey levels), severity 1 is the worst:

==========  ===========================================================================
blur        Gaussian blur, sigma = 3 px × severity
noise       additive Gaussian noise, std = 0.25 × severity, clipped to [0, 1]
jpeg        a real JPEG round trip through Pillow (in memory, 4:4:4 chroma) at
            quality = round(100 − 95 × severity)
contrast    pulled towards each image's mean grey: x' = m + (x − m)(1 − 0.9 × severity)
exposure    gain 2^(±2.5 × severity), clipped: over- or under-exposed (random per image,
            or as ``direction`` says)
==========  ===========================================================================

``quality_dataset`` distorts random images with random kinds and severities and scores them
with a *stated* mean opinion score:

    MOS = 100 · (1 − w_kind · severity ** p_kind) + N(0, rater_noise²), clipped to [0, 100]

with (w, p) from ``MOS_CURVES``. This MOS is a formula, not people: a model's SRCC against it
measures how well the model recovers the kind and severity of a distortion, **not** how well it
predicts human perception of quality.

``laplacian_variance`` is the hand-crafted sharpness baseline: the variance of the Laplacian of
the grey image. It falls with blur (a fair quality score there) but *rises* with noise, so as a
quality score it is inverted on noisy images.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

KINDS = ("blur", "noise", "jpeg", "contrast", "exposure")
MAX_SIGMA = 3.0          # blur at severity 1, in pixels
MAX_NOISE = 0.25         # noise std at severity 1
MIN_QUALITY = 5          # JPEG quality at severity 1 (100 at severity 0)
MAX_STOPS = 2.5          # exposure: 2 ** ±2.5 at severity 1
# (w, p) per kind: MOS = 100 · (1 − w · severity ** p). Noise and blur hurt early (p < 1);
# JPEG hardly shows until low qualities (p > 1).
MOS_CURVES = {"blur": (0.9, 0.8), "noise": (0.85, 0.7), "jpeg": (0.8, 1.5),
              "contrast": (0.6, 1.2), "exposure": (0.8, 1.0)}


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float (N, C, H, W) tensor in [0, 1], got "
                         f"{type(images).__name__} of shape {tuple(getattr(images, 'shape', ()))}")


def _severity(severity, n: int) -> torch.Tensor:
    """(n,) float32 severities from one number or one per image, checked to lie in [0, 1]."""
    s = torch.as_tensor(np.asarray(severity, dtype=np.float32))
    if s.ndim == 0:
        s = s.expand(n)
    if s.shape != (n,):
        raise ValueError(f"severity must be one number or one per image ({n}), got shape {tuple(s.shape)}")
    if torch.isnan(s).any() or s.min() < 0 or s.max() > 1:
        raise ValueError(f"severity must lie in [0, 1], got values in [{s.min():.3g}, {s.max():.3g}]")
    return s.clone()


def _per_image(s: torch.Tensor) -> torch.Tensor:
    return s[:, None, None, None]


def blur(images: torch.Tensor, severity, seed: int = 0) -> torch.Tensor:
    """Gaussian blur, sigma = ``MAX_SIGMA`` × severity pixels, reflecting at the borders.
    (``seed`` is unused: blur is deterministic; it is there so every distortion is called alike.)"""
    _check_images(images)
    n, c, h, w = images.shape
    sigma = _severity(severity, n) * MAX_SIGMA
    if sigma.max() == 0:
        return images.clone()
    # one kernel width for every severity, so an image's result never depends on its batch
    radius = min(int(np.ceil(3 * MAX_SIGMA)), min(h, w) - 1)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-x ** 2 / (2 * sigma[:, None].clamp(min=1e-6) ** 2))
    kernel = kernel / kernel.sum(1, keepdim=True)            # sigma → 0 gives a delta
    kernel = kernel.repeat_interleave(c, 0)                 # one kernel per image and channel
    flat = F.pad(images.reshape(1, n * c, h, w).float(), (radius,) * 4, mode="reflect")
    flat = F.conv2d(flat, kernel[:, None, None, :], groups=n * c)   # rows
    flat = F.conv2d(flat, kernel[:, None, :, None], groups=n * c)   # columns
    return flat.reshape(n, c, h, w).to(images.dtype)


def noise(images: torch.Tensor, severity, seed: int = 0) -> torch.Tensor:
    """Additive Gaussian noise, std = ``MAX_NOISE`` × severity, clipped to [0, 1]."""
    _check_images(images)
    s = _severity(severity, len(images))
    z = np.random.default_rng(seed).standard_normal(tuple(images.shape), dtype=np.float32)
    return (images + _per_image(s * MAX_NOISE) * torch.from_numpy(z)).clamp(0, 1)


def jpeg_quality(severity: float) -> int:
    """The JPEG quality for a severity: 100 at 0, ``MIN_QUALITY`` at 1."""
    return round(100 - (100 - MIN_QUALITY) * float(severity))


def jpeg(images: torch.Tensor, severity, seed: int = 0) -> torch.Tensor:
    """A real JPEG round trip through Pillow at ``jpeg_quality(severity)``, one image at a time
    (``seed`` is unused). Images must have 1 or 3 channels."""
    from PIL import Image

    _check_images(images)
    n, c = images.shape[:2]
    if c not in (1, 3):
        raise ValueError(f"JPEG needs 1 or 3 channels, got {c}")
    s = _severity(severity, n)
    pixels = (images.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out = np.empty_like(pixels)
    for i in range(n):
        buffer = io.BytesIO()
        Image.fromarray(pixels[i, :, :, 0] if c == 1 else pixels[i]).save(
            buffer, format="JPEG", quality=jpeg_quality(s[i]), subsampling=0)
        decoded = np.asarray(Image.open(buffer))
        out[i] = decoded[:, :, None] if c == 1 else decoded
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div(255).to(images.dtype).contiguous()


def contrast(images: torch.Tensor, severity, seed: int = 0) -> torch.Tensor:
    """Contrast reduced towards each image's mean: x' = m + (x − m)(1 − 0.9 × severity)."""
    _check_images(images)
    s = _per_image(_severity(severity, len(images)))
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (images - mean) * (1 - 0.9 * s)


def exposure(images: torch.Tensor, severity, seed: int = 0,
             direction: str | Sequence[int] = "random") -> torch.Tensor:
    """Gain 2 ** (±``MAX_STOPS`` × severity), clipped: ``direction`` "over", "under", "random"
    (a seeded coin per image) or one +1 (over) / −1 (under) per image."""
    _check_images(images)
    n = len(images)
    s = _severity(severity, n)
    if isinstance(direction, str):
        if direction not in ("over", "under", "random"):
            raise ValueError("direction must be 'over', 'under', 'random' or ±1 per image, "
                             f"got {direction!r}")
        sign = {"over": np.ones(n), "under": -np.ones(n)}.get(direction)
        if sign is None:
            sign = np.where(np.random.default_rng(seed).random(n) < 0.5, 1.0, -1.0)
    else:
        sign = np.asarray(direction, dtype=float)
        if sign.shape != (n,) or not np.isin(sign, (-1, 1)).all():
            raise ValueError(f"direction must hold +1 or -1 for each of the {n} images")
    gain = torch.exp2(torch.from_numpy(sign).float() * MAX_STOPS * s)
    return (images * _per_image(gain)).clamp(0, 1)


DISTORTIONS = {"blur": blur, "noise": noise, "jpeg": jpeg, "contrast": contrast, "exposure": exposure}


def distort(images: torch.Tensor, kinds: str | Sequence[str], severities, seed: int = 0) -> torch.Tensor:
    """Each image distorted by its own kind (or one kind for all) at its own severity."""
    _check_images(images)
    n = len(images)
    kinds = [kinds] * n if isinstance(kinds, str) else list(kinds)
    if len(kinds) != n:
        raise ValueError(f"kinds must be one kind or one per image ({n}), got {len(kinds)}")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown distortion kind(s) {unknown}; choose from {KINDS}")
    s = _severity(severities, n)
    seeds = np.random.default_rng(seed).integers(2 ** 31, size=len(KINDS))   # one stream per kind
    out = images.clone()
    kinds_arr = np.array(kinds)
    for kind, kind_seed in zip(KINDS, seeds):
        idx = torch.from_numpy(np.flatnonzero(kinds_arr == kind))
        if len(idx):
            out[idx] = DISTORTIONS[kind](images[idx], s[idx], seed=int(kind_seed))
    return out


def mos(kinds: Sequence[str], severities, rater_noise: float = 0.0, seed: int = 0) -> torch.Tensor:
    """The stated mean opinion score (module docstring) of each (kind, severity)."""
    s = _severity(severities, len(kinds)).double()
    if rater_noise < 0:
        raise ValueError(f"rater_noise must be >= 0, got {rater_noise}")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown distortion kind(s) {unknown}; choose from {KINDS}")
    w = torch.tensor([MOS_CURVES[k][0] for k in kinds], dtype=torch.float64)
    p = torch.tensor([MOS_CURVES[k][1] for k in kinds], dtype=torch.float64)
    score = 100 * (1 - w * s ** p)
    if rater_noise:
        score += torch.from_numpy(np.random.default_rng(seed).normal(0, rater_noise, len(kinds)))
    return score.clamp(0, 100).float()


@dataclass
class QualityBatch:
    """Distorted images with what was done to them: ``source`` indexes the clean images,
    ``kind`` names the distortion (``kind_id`` indexes ``KINDS``), ``severity`` in [0, 1] and
    the stated ``mos`` in [0, 100]."""

    images: torch.Tensor
    source: torch.Tensor
    kind: list[str]
    kind_id: torch.Tensor
    severity: torch.Tensor
    mos: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return f"QualityBatch(images={tuple(self.images.shape)}, kinds={sorted(set(self.kind))})"


def quality_dataset(images: torch.Tensor, n: int, seed: int = 0, kinds: Sequence[str] = KINDS,
                    rater_noise: float = 5.0) -> QualityBatch:
    """``n`` distorted copies of randomly chosen ``images``: kind uniform over ``kinds``,
    severity uniform in [0, 1], MOS from the stated formula with ``rater_noise`` (std, in MOS
    points) of Gaussian rater noise."""
    _check_images(images)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not kinds or not set(kinds) <= set(KINDS):
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
    rng = np.random.default_rng(seed)
    source = rng.integers(len(images), size=n)
    kind_id = np.array([KINDS.index(k) for k in kinds])[rng.integers(len(kinds), size=n)]
    severity = rng.random(n).astype(np.float32)
    names = [KINDS[k] for k in kind_id]
    distort_seed, rater_seed = (int(x) for x in rng.integers(2 ** 31, size=2))
    out = distort(images[torch.from_numpy(source)], names, severity, seed=distort_seed)
    return QualityBatch(out, torch.from_numpy(source), names, torch.from_numpy(kind_id),
                        torch.from_numpy(severity), mos(names, severity, rater_noise, rater_seed))


def laplacian_variance(images: torch.Tensor) -> torch.Tensor:
    """(N,) variance of the Laplacian of each image's grey level (ITU-R 601 luma; borders
    replicated, as ``scipy.ndimage.laplace``'s default): the classic sharpness score."""
    _check_images(images)
    if images.shape[1] == 3:
        luma = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype)[:, None, None]
        grey = (images * luma).sum(1, keepdim=True)
    elif images.shape[1] == 1:
        grey = images
    else:
        raise ValueError(f"images must have 1 or 3 channels, got {images.shape[1]}")
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=images.dtype)
    lap = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernel[None, None])
    return lap.flatten(1).var(1)
