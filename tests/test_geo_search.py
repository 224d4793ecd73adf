"""genlab.metrics.geo, genlab.metrics.correlation and genlab.vision.search (11_clip_applications),
each checked against an independent computation. Small arrays only: a few seconds in all."""
import numpy as np
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import mahalanobis as scipy_mahalanobis
from sklearn.covariance import LedoitWolf

from genlab.data import places
from genlab.metrics import (EARTH_RADIUS_KM, THRESHOLDS_KM, accuracy_within, bootstrap_ci, haversine_km, plcc,
                            spherical_mean, srcc, unit_vectors)
from genlab.vision import Mahalanobis, cosine_topk, knn_outlier_score, neighbour_recall
from genlab.vision.search import MAX_SIMILARITY_BYTES


# ---- geo: haversine
def test_haversine_matches_known_distances():
    assert haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1.0)   # London–Paris
    assert haversine_km(0, 0, 0, 180) == pytest.approx(np.pi * EARTH_RADIUS_KM)               # antipodes
    assert haversine_km(90, 0, -90, 0) == pytest.approx(np.pi * EARTH_RADIUS_KM)               # pole to pole
    assert haversine_km(0, 0, 0, 90) == pytest.approx(np.pi / 2 * EARTH_RADIUS_KM)
    assert haversine_km(10, 179.5, 10, -179.5) < 120          # across the date line: ~110 km, not ~39,000
    assert haversine_km(37.0, 5.0, 37.0, 5.0) == 0.0


def test_haversine_small_distances_agree_with_a_flat_earth():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-60, 60, 200), rng.uniform(-180, 180, 200)
    dlat, dlon = rng.uniform(-0.01, 0.01, (2, 200))         # ~1 km steps
    # equirectangular: east-west distances shrink with cos(latitude)
    flat = EARTH_RADIUS_KM * np.radians(np.hypot(dlat, dlon * np.cos(np.radians(lat + dlat / 2))))
    d = haversine_km(lat, lon, lat + dlat, lon + dlon)
    np.testing.assert_allclose(d, flat, rtol=1e-5)
    # 1 metre apart is still resolved (the arccos of a dot product would round it to 0 or ~2 m)
    metre = np.degrees(0.001 / EARTH_RADIUS_KM)
    assert haversine_km(45.0, 7.0, 45.0 + metre, 7.0) == pytest.approx(0.001, rel=1e-6)


def test_haversine_is_symmetric_broadcasts_and_accepts_tensors():
    rng = np.random.default_rng(1)
    a = rng.uniform(-90, 90, 50), rng.uniform(-180, 180, 50)
    b = rng.uniform(-90, 90, 50), rng.uniform(-180, 180, 50)
    np.testing.assert_allclose(haversine_km(*a, *b), haversine_km(*b, *a), rtol=1e-12)
    table = haversine_km(a[0][:, None], a[1][:, None], b[0][None, :7], b[1][None, :7])
    assert table.shape == (50, 7) and table.dtype == np.float64
    angle = places.angular_distance(a[0][:, None], a[1][:, None], b[0][:7], b[1][:7])   # independent: arccos
    np.testing.assert_allclose(table, np.radians(angle) * EARTH_RADIUS_KM, rtol=1e-6)
    t = haversine_km(torch.tensor(a[0], dtype=torch.float32), torch.tensor(a[1]), 0.0, 0.0)
    assert isinstance(t, np.ndarray) and t.shape == (50,)
    assert isinstance(haversine_km(1, 2, 3, 4), float)


def test_haversine_rejects_latitudes_beyond_the_poles():
    with pytest.raises(ValueError, match="lat1"):
        haversine_km(91, 0, 0, 0)
    with pytest.raises(ValueError, match="lat2"):
        haversine_km(0, 0, np.array([0, -90.5]), 0)


def test_unit_vectors_moved_but_places_still_has_them():
    assert places.unit_vectors is unit_vectors
    v = unit_vectors(np.array([0, 0, 90, -30]), np.array([0, 90, 17, 45]))
    np.testing.assert_allclose(np.linalg.norm(v, axis=-1), 1)
    np.testing.assert_allclose(v[:3], [[1, 0, 0], [0, 1, 0], [0, 0, 1]], atol=1e-12)


# ---- geo: spherical mean
def test_spherical_mean_across_the_date_line_and_at_a_pole():
    lat, lon = spherical_mean([10.0, 10.0], [179.0, -179.0])
    assert lat == pytest.approx(10.0, abs=0.01)
    assert abs(lon) == pytest.approx(180.0) and -180 <= lon < 180      # not 0, the far side of the Earth
    lat, lon = spherical_mean([89.0, 89.0], [0.0, 180.0])              # the pole lies between them
    assert lat == pytest.approx(90.0)
    lat, lon = spherical_mean([80.0, 80.0, 80.0], [0.0, 120.0, -120.0])
    assert lat == pytest.approx(90.0)


def test_spherical_mean_matches_the_midpoint_weights_and_batches():
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(-60, 60, (5, 2)), rng.uniform(-180, 180, (5, 2))
    mlat, mlon = spherical_mean(lat, lon)
    assert mlat.shape == mlon.shape == (5,)
    # the mean of two points is the great-circle midpoint: equally far from both, half the way
    d1, d2 = haversine_km(mlat, mlon, lat[:, 0], lon[:, 0]), haversine_km(mlat, mlon, lat[:, 1], lon[:, 1])
    np.testing.assert_allclose(d1, d2, rtol=1e-9)
    np.testing.assert_allclose(d1 + d2, haversine_km(lat[:, 0], lon[:, 0], lat[:, 1], lon[:, 1]), rtol=1e-9)
    # a zero weight ignores a point; a heavier weight pulls the mean its way
    assert spherical_mean([10, 50, -30], [20, 60, 100], [1, 0, 0]) == pytest.approx((10, 20))
    heavy = spherical_mean([0, 0], [0, 90], [3, 1])
    assert 0 < heavy[1] < 45
    # the mean of one cluster of nearby points is near their flat average
    c = spherical_mean(np.array([40.0, 40.2, 39.9]), np.array([10.0, 10.1, 9.8]))
    assert haversine_km(*c, 40.033, 9.967) < 2


def test_spherical_mean_rejects_antipodes_and_bad_weights():
    with pytest.raises(ValueError, match="undefined"):
        spherical_mean([0.0, 0.0], [0.0, 180.0])
    with pytest.raises(ValueError, match="non-negative"):
        spherical_mean([0.0, 1.0], [0.0, 1.0], [1.0, -0.5])
    with pytest.raises(ValueError, match="positive sum"):
        spherical_mean([0.0, 1.0], [0.0, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="same shape|one shape"):
        spherical_mean([0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="-90, 90"):
        spherical_mean([95.0, 1.0], [0.0, 0.0])


def test_accuracy_within():
    errors = np.array([0.5, 10, 24.9, 25, 300, 1000, 5000, 20000])
    acc = accuracy_within(errors)
    assert list(acc) == list(THRESHOLDS_KM)
    assert acc == {1: 1 / 8, 25: 4 / 8, 200: 4 / 8, 750: 5 / 8, 2500: 6 / 8}   # 25 km counts as within 25
    assert accuracy_within(torch.tensor([1.0, 3.0]), thresholds=(2.0,)) == {2.0: 0.5}
    with pytest.raises(ValueError):
        accuracy_within([])
    with pytest.raises(ValueError):
        accuracy_within([-1.0, 2.0])


# ---- search: exact top-k
def _brute_force(q: np.ndarray, g: np.ndarray, k: int):
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    sims = qn @ gn.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, 1), order


@pytest.mark.parametrize("max_bytes", [MAX_SIMILARITY_BYTES, 300 * 8 * 7])   # one chunk; chunks of 7 queries
def test_cosine_topk_matches_brute_force(max_bytes):
    rng = np.random.default_rng(3)
    q, g = rng.normal(size=(50, 16)), rng.normal(size=(300, 16))
    scores, idx = cosine_topk(torch.from_numpy(q), torch.from_numpy(g), 5, max_bytes=max_bytes)
    want_scores, want_idx = _brute_force(q, g, 5)
    assert idx.dtype == torch.int64 and scores.shape == idx.shape == (50, 5)
    np.testing.assert_array_equal(idx.numpy(), want_idx)
    np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-12)


def test_cosine_topk_chunks_a_large_gallery_by_default(monkeypatch):
    rng = np.random.default_rng(4)
    q = rng.normal(size=(400, 8)).astype(np.float32)
    g = rng.normal(size=(50_000, 8)).astype(np.float32)
    blocks, topk = [], torch.Tensor.topk

    def spy(self, *args, **kwargs):     # record the shape of every similarity block searched
        blocks.append(tuple(self.shape))
        return topk(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "topk", spy)
    scores, idx = cosine_topk(torch.from_numpy(q), torch.from_numpy(g), 3)
    monkeypatch.undo()
    assert len(blocks) == 2 and sum(rows for rows, _ in blocks) == 400
    assert max(rows * cols * 4 for rows, cols in blocks) <= 64 * 2**20
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    sims = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ gn.T
    top3 = -np.partition(-sims, 2, axis=1)[:, :3]                   # the 3 largest, unordered
    best = -np.sort(-top3, axis=1)                                   # largest first
    np.testing.assert_allclose(scores.numpy(), best, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(sims, idx.numpy(), 1), best, atol=1e-5)


def test_cosine_topk_leaves_inputs_alone_and_ignores_scale():
    torch.manual_seed(0)
    q, g = torch.randn(20, 6), torch.randn(40, 6)
    q0, g0 = q.clone(), g.clone()
    s1, i1 = cosine_topk(q, g, 4)
    assert torch.equal(q, q0) and torch.equal(g, g0)
    scale = torch.rand(40, 1) * 100 + 0.01
    s2, i2 = cosine_topk(q * 7, g * scale, 4)
    assert torch.equal(i1, i2)
    torch.testing.assert_close(s1, s2, rtol=1e-5, atol=1e-5)
    assert (s1[:, :-1] >= s1[:, 1:]).all() and s1.abs().max() <= 1 + 1e-6


def test_cosine_topk_rejects_bad_arguments():
    q, g = torch.randn(3, 4), torch.randn(5, 4)
    for k in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="k must be"):
            cosine_topk(q, g, k)
    with pytest.raises(ValueError, match="dimension"):
        cosine_topk(q, torch.randn(5, 3), 1)
    with pytest.raises(ValueError, match="gallery"):
        cosine_topk(q, g.numpy(), 1)


# ---- search: outlier scores
def test_knn_outlier_score_flags_a_far_point_and_excludes_self():
    torch.manual_seed(1)
    centre = torch.randn(32)
    index = centre + 0.3 * torch.randn(200, 32)
    inliers = centre + 0.3 * torch.randn(20, 32)
    far = torch.randn(5, 32)                           # random directions, far from the centre
    s_in, s_far = knn_outlier_score(inliers, index, k=5), knn_outlier_score(far, index, k=5)
    assert s_far.min() > s_in.max()
    # an index item's nearest neighbour is itself, at distance 0, unless it is excluded
    assert torch.allclose(knn_outlier_score(index, index, k=1), torch.zeros(200), atol=1e-6)
    own = knn_outlier_score(index, index, k=1, exclude_self=True)
    assert (own > 0.01).all()
    # exclude_self with k is the same as scoring against the index without that item
    i = 17
    rest = torch.cat([index[:i], index[i + 1:]])
    own5 = knn_outlier_score(index, index, k=5, exclude_self=True)
    torch.testing.assert_close(own5[i], knn_outlier_score(index[i:i + 1], rest, k=5)[0])
    # brute force: 1 - the k-th largest cosine similarity
    sims = torch.nn.functional.normalize(inliers, dim=1) @ torch.nn.functional.normalize(index, dim=1).T
    torch.testing.assert_close(s_in, 1 - sims.sort(dim=1, descending=True).values[:, 4])


def test_knn_outlier_score_rejects_bad_arguments():
    x = torch.randn(6, 4)
    with pytest.raises(ValueError, match=r"\[1, 5\]"):
        knn_outlier_score(x, x, k=6, exclude_self=True)
    with pytest.raises(ValueError, match="index"):
        knn_outlier_score(x[:3], x, k=2, exclude_self=True)


def test_mahalanobis_matches_scipy_and_flags_outliers():
    rng = np.random.default_rng(5)
    rotation = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    a = np.sqrt(np.linspace(1, 3, 8))[:, None] * rotation          # covariance eigenvalues 1 … 3
    x = rng.normal(size=(4000, 8)) @ a + 3.0        # well-conditioned, correlated, off-centre
    model = Mahalanobis().fit(torch.from_numpy(x))
    lw = LedoitWolf().fit(x)
    queries = rng.normal(size=(10, 8)) @ a + 3.0
    want = [scipy_mahalanobis(v, lw.location_, lw.precision_) ** 2 for v in queries]
    got = model.score(torch.from_numpy(queries))
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9)
    # with 4000 samples the shrinkage is small: close to the plain (unshrunk) covariance too
    plain = [scipy_mahalanobis(v, x.mean(0), np.linalg.inv(np.cov(x.T))) ** 2 for v in queries]
    np.testing.assert_allclose(got.numpy(), plain, rtol=0.05)
    # the mean of a Gaussian's squared distance is its dimension
    assert model.score(x).mean().item() == pytest.approx(8, rel=0.05)
    assert model.score(np.full((1, 8), 30.0)).item() > 100
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        model.score(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="fit"):
        Mahalanobis().score(x)


def test_neighbour_recall_counts_shared_ids():
    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    approx = np.array([[4, 3, 9, 1], [-1, -1, -1, -1]])              # 3 of 4; FAISS found nothing
    assert neighbour_recall(approx, exact) == pytest.approx((3 / 4 + 0) / 2)
    assert neighbour_recall(exact[:, ::-1], exact) == 1.0            # order does not matter
    assert neighbour_recall(torch.tensor([[-1, 2]]), torch.tensor([[-1, 2]])) == 0.5   # -1 never counts
    with pytest.raises(ValueError, match="shape"):
        neighbour_recall(approx[:, :3], exact)


# ---- correlation
def test_srcc_and_plcc_match_scipy():
    rng = np.random.default_rng(6)
    x = rng.normal(size=100)
    y = np.exp(x) + 0.3 * rng.normal(size=100)                       # monotone, curved
    assert srcc(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
    assert plcc(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
    assert srcc(x, np.exp(x)) == pytest.approx(1.0) and plcc(x, np.exp(x)) < 0.95   # ranks vs lines
    assert isinstance(srcc(torch.tensor(x), torch.tensor(y)), float)


def test_correlations_reject_undefined_inputs():
    with pytest.raises(ValueError, match="constant"):
        srcc([1, 2, 3, 4], [5, 5, 5, 5])
    with pytest.raises(ValueError, match="constant"):
        plcc([2, 2, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="length"):
        plcc([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 3"):
        srcc([1, 2], [2, 1])


def test_bootstrap_ci_contains_the_estimate_narrows_and_is_seeded():
    rng = np.random.default_rng(7)
    x = rng.normal(size=2000)
    y = x + rng.normal(size=2000)
    est, lo, hi = bootstrap_ci(srcc, x[:100], y[:100])
    assert est == srcc(x[:100], y[:100]) and lo < est < hi
    est2, lo2, hi2 = bootstrap_ci(srcc, x, y)
    assert lo2 < est2 < hi2 and (hi2 - lo2) < 0.5 * (hi - lo)        # width ~ 1/sqrt(n): 100 → 2000 items
    assert bootstrap_ci(plcc, x[:100], y[:100], n_resamples=200, seed=3) == \
        bootstrap_ci(plcc, x[:100], y[:100], n_resamples=200, seed=3)
    assert bootstrap_ci(plcc, x[:100], y[:100], n_resamples=200, seed=3) != \
        bootstrap_ci(plcc, x[:100], y[:100], n_resamples=200, seed=4)
    # the population's Spearman correlation, for Gaussians with Pearson's ρ = 1/√2, is (6/π) arcsin(ρ/2)
    assert lo2 < 6 / np.pi * np.arcsin(0.5 / np.sqrt(2)) < hi2
    # Pearson's r has standard error ≈ (1 - r²) / √n: a 95 % interval ≈ ± 1.96 of them
    r, lo3, hi3 = bootstrap_ci(plcc, x, y, n_resamples=400)
    assert hi3 - lo3 == pytest.approx(2 * 1.96 * (1 - r**2) / np.sqrt(len(x)), rel=0.2)
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(srcc, x, y, level=95)
