"""The digits judge and the Fréchet distance (genlab.metrics)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from genlab.data.digits import load_digits
from genlab.metrics import frechet_distance, judge_samples, load_judge
from genlab.metrics import judge as judge_module


def test_frechet_distance_matches_the_textbook_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    b = rng.normal(size=(300, 6)) @ np.diag([1, 2, 3, 1, 0.5, 1]) + 0.7
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    # A feature that never fires (zero variance) is fine, and gives no warning.
    a[:, 0] = 0
    with np.errstate(all="raise"):
        assert np.isfinite(frechet_distance(a, b))


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


@pytest.fixture(scope="module")
def judge():
    return load_judge()


def test_judge_is_accurate_cached_and_deterministic(judge, tmp_path, monkeypatch):
    digits = load_digits()
    assert (judge(digits.X_test).argmax(-1) == digits.y_test).float().mean() >= 0.95
    cached = load_judge()  # read back from the cache
    assert all(torch.equal(p, q) for p, q in zip(judge.state_dict().values(), cached.state_dict().values()))
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path))  # a second machine: rebuilt, same weights
    with torch.no_grad():  # as when judge_samples builds it on first use
        rebuilt = load_judge()
    assert (tmp_path / f"digits-judge-v{judge_module.VERSION}.pt").exists()
    assert all(torch.equal(p, q) for p, q in zip(judge.state_dict().values(), rebuilt.state_dict().values()))


def test_judge_ranks_real_above_gaussian_fit_above_noise(judge):
    digits = load_digits()
    gen = torch.Generator().manual_seed(0)
    X = digits.X_train
    cov = torch.cov(X.T) + 1e-4 * torch.eye(64)
    z = torch.randn(1000, 64, generator=gen)
    gaussian = X.mean(0) + z @ torch.linalg.cholesky(cov).T
    real = judge_samples(X, judge=judge)
    fit = judge_samples(gaussian, judge=judge)
    noise = judge_samples(torch.rand(1000, 64, generator=gen), judge=judge)
    assert real.fd < 2.0 and real.confidence > 0.95
    assert real.fd < 3.5 < fit.fd < noise.fd  # 04_diffusion's target sits between real and a Gaussian fit
    assert fit.confidence < 0.85  # and so does its confidence target
    labelled = judge_samples(digits.X_test, digits.y_test, judge=judge)
    assert labelled.accuracy >= 0.95 and "class accuracy" in str(labelled)


def test_judge_explains_bad_input(judge):
    with pytest.raises(ValueError, match="8×8 digits"):
        judge_samples(torch.zeros(10, 28, 28), judge=judge)
    with pytest.raises(ValueError, match="one label per sample"):
        judge_samples(torch.zeros(10, 64), torch.zeros(3), judge=judge)
