"""Metrics: ``judge`` — the digits judge and the Fréchet distance for generated samples —,
``geo`` — great-circle distances, mean locations and geolocation accuracy — (11_clip_applications)
and ``correlation`` — SRCC, PLCC and their bootstrap intervals for quality scores —
(11_clip_applications)."""
from .correlation import bootstrap_ci, plcc, srcc
from .geo import EARTH_RADIUS_KM, THRESHOLDS_KM, accuracy_within, haversine_km, spherical_mean, unit_vectors
from .judge import Judge, JudgeScore, frechet_distance, judge_samples, load_judge

__all__ = ["Judge", "JudgeScore", "frechet_distance", "judge_samples", "load_judge",
           "EARTH_RADIUS_KM", "THRESHOLDS_KM", "unit_vectors", "haversine_km", "spherical_mean", "accuracy_within",
           "srcc", "plcc", "bootstrap_ci"]
