"""Distances and means on the globe, and how geolocation is scored. Introduced in
11_clip_applications (location search), whose exercises rebuild these.

- ``unit_vectors``: latitude and longitude (degrees) → points on the unit sphere.
- ``haversine_km``: the great-circle distance between two places, in kilometres.
- ``spherical_mean``: the mean location of several places (e.g. of the k nearest neighbours of
  a photo in an index), computed on the sphere rather than on the degrees.
- ``accuracy_within``: the fraction of predictions within 1, 25, 200, 750 and 2500 km of the
  truth — the street, city, region, country and continent scales that Im2GPS (Hays & Efros
  2008) and the geolocation papers after it report.
"""
from __future__ import annotations

import numpy as np
import torch

EARTH_RADIUS_KM = 6371.0088                # the mean Earth radius (IUGG), in km
THRESHOLDS_KM = (1, 25, 200, 750, 2500)    # street, city, region, country, continent


def _float64(x) -> np.ndarray:
    """A float64 array from a float, a list, an array or a tensor (any device)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _check_latitude(lat: np.ndarray, name: str = "lat") -> None:
    if np.any(np.abs(lat) > 90):
        raise ValueError(f"{name} must lie in [-90, 90] degrees, got values up to {np.abs(lat).max():g}")


def _result(x: np.ndarray) -> np.ndarray | float:
    """0-d results come back as Python floats, everything else as arrays."""
    return float(x) if x.ndim == 0 else x


def unit_vectors(lat, lon) -> np.ndarray:
    """(..., 3) points on the unit sphere for latitudes and longitudes in degrees: x towards
    (0°, 0°), y towards (0°, 90° E), z towards the North Pole."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray | float:
    """Great-circle distance in km between (lat1, lon1) and (lat2, lon2), in degrees.

    Inputs broadcast against each other and may be floats, arrays or tensors; the result is a
    float64 array of the broadcast shape, or a Python float when every input is a scalar.

    The haversine formula works with sin² of half the differences, which stays accurate for
    places metres apart; the textbook ``arccos`` of a dot product loses those to rounding
    (the cosine of a tiny angle is 1 to float precision).
    """
    lat1, lon1, lat2, lon2 = (_float64(v) for v in (lat1, lon1, lat2, lon2))
    _check_latitude(lat1, "lat1")
    _check_latitude(lat2, "lat2")
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (np.sin((p2 - p1) / 2) ** 2
         + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2)
    # rounding can push a a hair above 1 for antipodal points; arcsin needs [0, 1]
    return _result(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


def spherical_mean(lat, lon, weights=None) -> tuple[np.ndarray | float, np.ndarray | float]:
    """The mean location of the points along the last axis: (..., k) degrees → (...,) lat, lon.

    Each point becomes a 3-D unit vector; the (weighted) average vector is scaled back onto the
    sphere and turned into degrees, longitude in [-180, 180). Averaging the degrees instead
    breaks at the date line: the mean of 179° and -179° is 0° — the far side of the Earth —
    when the right answer is 180°. (Near a pole it fails as badly: 89° N at 0° and at 180° are
    close to each other, and their mean is the pole, not 89° N at 90°.)

    ``weights`` (broadcastable to ``lat``) must be non-negative with a positive sum over the
    last axis. Raises ``ValueError`` when the average vector is close to zero (length < 1e-6),
    e.g. for two antipodal points: every direction is then equally "central" and no mean exists.
    1-D inputs give Python floats.
    """
    lat, lon = _float64(lat), _float64(lon)
    if lat.shape != lon.shape or lat.ndim == 0 or lat.shape[-1] == 0:
        raise ValueError(f"lat and lon must have one shape (..., k) with k >= 1, got {lat.shape} and {lon.shape}")
    _check_latitude(lat)
    w = np.ones_like(lat) if weights is None else np.broadcast_to(_float64(weights), lat.shape)
    total = w.sum(-1)
    if np.any(w < 0) or np.any(total <= 0):
        raise ValueError("weights must be non-negative with a positive sum over the last axis")
    mean = (w[..., None] * unit_vectors(lat, lon)).sum(-2) / total[..., None]   # (..., 3)
    length = np.linalg.norm(mean, axis=-1)
    if np.any(length < 1e-6):
        raise ValueError("the points' average vector is ~zero (e.g. antipodal points): their mean "
                         "location is undefined")
    x, y, z = np.moveaxis(mean / length[..., None], -1, 0)
    mean_lat = np.degrees(np.arcsin(np.clip(z, -1, 1)))
    mean_lon = (np.degrees(np.arctan2(y, x)) + 180) % 360 - 180
    return _result(mean_lat), _result(mean_lon)


def accuracy_within(errors_km, thresholds=THRESHOLDS_KM) -> dict[int | float, float]:
    """The fraction of ``errors_km`` (distances from the truth) at or below each threshold:
    ``{1: 0.02, 25: 0.11, ...}`` with the default street … continent thresholds."""
    errors = _float64(errors_km).ravel()
    if errors.size == 0 or np.isnan(errors).any() or (errors < 0).any():
        raise ValueError(f"errors_km must be a non-empty set of distances >= 0, got {errors.size} values "
                         f"with minimum {errors.min() if errors.size else None}")
    if len(thresholds) == 0:
        raise ValueError("thresholds must name at least one distance in km, got none")
    return {t: float((errors <= t).mean()) for t in thresholds}


__all__ = ["EARTH_RADIUS_KM", "THRESHOLDS_KM", "unit_vectors", "haversine_km", "spherical_mean",
           "accuracy_within"]
