"""Metrics for generated samples: the digits judge and the Fréchet distance."""
from .judge import Judge, JudgeScore, frechet_distance, judge_samples, load_judge

__all__ = ["Judge", "JudgeScore", "frechet_distance", "judge_samples", "load_judge"]
