"""Plausible wrong answers for 11_clip_applications, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: in-place changes, hard-coded dtypes, edge cases the prose
states) and a hidden test catches it.
"""

NB = "11_clip_applications.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments


def _topk(body: str) -> str:
    return '''
def cosine_topk(queries: torch.Tensor, gallery: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q, D), (G, D) -> (scores, indices), each (Q, k): the k most cosine-similar gallery rows per query, best first."""
''' + body


_TOPK_CHECK = '''    if not isinstance(k, int) or not 1 <= k <= len(gallery):
        raise ValueError(f"k must be an int in [1, {len(gallery)}], got {k!r}")
'''

_HAVERSINE = '''    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
'''

_LOCATE = '''    la, lo = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    w = np.ones_like(la) if weights is None else np.asarray(weights, dtype=np.float64)
    x = (w * np.cos(la) * np.cos(lo)).sum(-1)
    y = (w * np.cos(la) * np.sin(lo)).sum(-1)
    z = (w * np.sin(la)).sum(-1)
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))
'''


def _geo(haversine: str = _HAVERSINE, locate: str = _LOCATE) -> str:
    return f'''
def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (inputs broadcast); float64 array."""
{haversine}

def locate(lat, lon, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """(..., k) neighbour locations in degrees (and optional weights) -> (...,) mean latitude and longitude."""
{locate}'''


def _outlier(body: str) -> str:
    return '''
def knn_outlier_score(query_features: torch.Tensor, index_features: torch.Tensor, k: int) -> torch.Tensor:
    """(Q, D), (G, D) -> (Q,): 1 - cosine similarity to each query's k-th nearest index item (higher = more outlying)."""
''' + body


_PLCC = '''    x, y = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
'''

_SRCC = '''    from scipy.stats import rankdata

    return plcc(rankdata(np.asarray(pred, dtype=np.float64)), rankdata(np.asarray(target, dtype=np.float64)))
'''


def _corr(plcc: str = _PLCC, srcc: str = _SRCC) -> str:
    return f'''
def plcc(pred, target) -> float:
    """Pearson's linear correlation of two 1-D sequences of one length."""
{plcc}

def srcc(pred, target) -> float:
    """Spearman's rank correlation: Pearson's correlation of the ranks (ties share their average rank)."""
{srcc}'''


EACH_ALONE = [
    # ---- cosine_topk
    dict(notebook=NB, grade_id="cosine_topk", caught="visible",
         mistake="no normalisation: dot products instead of cosines",
         source=_topk(_TOPK_CHECK + '''    top = (queries @ gallery.t()).topk(k, dim=-1)
    return top.values, top.indices
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="visible",
         mistake="normalised over the rows axis (dim=0) instead of each feature vector",
         source=_topk(_TOPK_CHECK + '''    scores = F.normalize(queries, dim=0) @ F.normalize(gallery, dim=0).t()
    top = scores.topk(k, dim=-1)
    return top.values, top.indices
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="visible",
         mistake="the k LEAST similar items, worst first (topk with largest=False)",
         source=_topk(_TOPK_CHECK + '''    scores = F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).t()
    top = scores.topk(k, dim=-1, largest=False)
    return top.values, top.indices
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="visible",
         mistake="returns (indices, scores) instead of (scores, indices)",
         source=_topk(_TOPK_CHECK + '''    scores = F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).t()
    top = scores.topk(k, dim=-1)
    return top.indices, top.values
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="visible",
         mistake="no range check: k > G raises torch's RuntimeError, not a ValueError",
         source=_topk('''    scores = F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).t()
    top = scores.topk(k, dim=-1)
    return top.values, top.indices
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="hidden",
         mistake="checks k > G but not k < 1: k = 0 returns empty results",
         source=_topk('''    if k > len(gallery):
        raise ValueError(f"k={k} is larger than the gallery ({len(gallery)} items)")
    scores = F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).t()
    top = scores.topk(k, dim=-1)
    return top.values, top.indices
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="hidden",
         mistake="off by one: rejects k = G (k >= G raises)",
         source=_topk('''    if k < 1 or k >= len(gallery):
        raise ValueError(f"k must be in [1, {len(gallery)}), got {k}")
    scores = F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).t()
    top = scores.topk(k, dim=-1)
    return top.values, top.indices
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="hidden",
         mistake="normalises the caller's queries and gallery in place",
         source=_topk(_TOPK_CHECK + '''    queries /= queries.norm(dim=-1, keepdim=True)
    gallery /= gallery.norm(dim=-1, keepdim=True)
    top = (queries @ gallery.t()).topk(k, dim=-1)
    return top.values, top.indices
''')),
    dict(notebook=NB, grade_id="cosine_topk", caught="hidden",
         mistake="float32 hard-coded: float64 features lose their precision",
         source=_topk(_TOPK_CHECK + '''    scores = F.normalize(queries.float(), dim=-1) @ F.normalize(gallery.float(), dim=-1).t()
    top = scores.topk(k, dim=-1)
    return top.values, top.indices
''')),
    # ---- haversine_km and locate
    dict(notebook=NB, grade_id="geo", caught="visible",
         mistake="haversine: degrees not converted to radians",
         source=_geo(haversine='''    p1, l1, p2, l2 = (np.asarray(v, dtype=np.float64) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
''')),
    dict(notebook=NB, grade_id="geo", caught="visible",
         mistake="haversine: the equatorial radius 6378.137 km instead of the mean radius 6371.0088 km",
         source=_geo(haversine=_HAVERSINE.replace("6371.0088", "6378.137"))),
    dict(notebook=NB, grade_id="geo", caught="hidden",
         mistake="haversine: the arccos (spherical law of cosines) form, 0 for points centimetres apart",
         source=_geo(haversine='''    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    c = np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(l2 - l1)
    return 6371.0088 * np.arccos(np.clip(c, -1, 1))
''')),
    dict(notebook=NB, grade_id="geo", caught="hidden",
         mistake="haversine: works on whatever comes in, so tensors in give a float32 tensor out",
         source=_geo(haversine='''    p1, l1, p2, l2 = (v * np.pi / 180 for v in (lat1, lon1, lat2, lon2))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
''')),
    dict(notebook=NB, grade_id="geo", caught="visible",
         mistake="locate: averages the numbers of degrees (the date line's mean becomes 0°)",
         source=_geo(locate='''    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    w = np.ones_like(lat) if weights is None else np.asarray(weights, dtype=np.float64)
    return (w * lat).sum(-1) / w.sum(-1), (w * lon).sum(-1) / w.sum(-1)
''')),
    dict(notebook=NB, grade_id="geo", caught="visible",
         mistake="locate: ignores the weights",
         source=_geo(locate='''    la, lo = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    x = (np.cos(la) * np.cos(lo)).sum(-1)
    y = (np.cos(la) * np.sin(lo)).sum(-1)
    z = np.sin(la).sum(-1)
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))
''')),
    dict(notebook=NB, grade_id="geo", caught="visible",
         mistake="locate: longitude as arctan(y / x) instead of atan2(y, x) (wrong half of the globe)",
         source=_geo(locate=_LOCATE.replace("np.degrees(np.arctan2(y, x))", "np.degrees(np.arctan(y / x))"))),
    dict(notebook=NB, grade_id="geo", caught="visible",
         mistake="locate: latitude as arcsin of the mean vector's z, which is shorter than 1",
         source=_geo(locate='''    la, lo = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    w = np.ones_like(la) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum(-1, keepdims=True)
    x = (w * np.cos(la) * np.cos(lo)).sum(-1)
    y = (w * np.cos(la) * np.sin(lo)).sum(-1)
    z = (w * np.sin(la)).sum(-1)
    return np.degrees(np.arcsin(z)), np.degrees(np.arctan2(y, x))
''')),
    dict(notebook=NB, grade_id="geo", caught="hidden",
         mistake="locate: latitude averaged in degrees, only the longitude through unit vectors",
         source=_geo(locate='''    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    w = np.ones_like(lat) if weights is None else np.asarray(weights, dtype=np.float64)
    lo = np.radians(lon)
    x, y = (w * np.cos(lo)).sum(-1), (w * np.sin(lo)).sum(-1)
    return (w * lat).sum(-1) / w.sum(-1), np.degrees(np.arctan2(y, x))
''')),
    dict(notebook=NB, grade_id="geo", caught="hidden",
         mistake="locate: normalises the caller's weights in place",
         source=_geo(locate='''    la, lo = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    if weights is None:
        w = np.ones_like(la) / la.shape[-1]
    else:
        w = np.asarray(weights, dtype=np.float64)
        w /= w.sum(-1, keepdims=True)
    x = (w * np.cos(la) * np.cos(lo)).sum(-1)
    y = (w * np.cos(la) * np.sin(lo)).sum(-1)
    z = (w * np.sin(la)).sum(-1)
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))
''')),
    dict(notebook=NB, grade_id="geo", caught="hidden",
         mistake="locate: longitude in [0, 360) instead of (-180, 180]",
         source=_geo(locate=_LOCATE.replace("np.degrees(np.arctan2(y, x))", "np.degrees(np.arctan2(y, x)) % 360"))),
    # ---- knn_outlier_score
    dict(notebook=NB, grade_id="knn_outlier_score", caught="visible",
         mistake="returns the similarity (higher = more typical), not the distance",
         source=_outlier('''    scores, _ = cosine_topk(query_features, index_features, k)
    return scores[:, k - 1]
''')),
    dict(notebook=NB, grade_id="knn_outlier_score", caught="visible",
         mistake="the distance to the first neighbour instead of the k-th",
         source=_outlier('''    scores, _ = cosine_topk(query_features, index_features, k)
    return 1 - scores[:, 0]
''')),
    dict(notebook=NB, grade_id="knn_outlier_score", caught="visible",
         mistake="Euclidean distances of unnormalised features",
         source=_outlier('''    dist = torch.cdist(query_features, index_features)
    return dist.topk(k, dim=-1, largest=False).values[:, k - 1]
''')),
    dict(notebook=NB, grade_id="knn_outlier_score", caught="visible",
         mistake="the mean distance to the k nearest instead of the distance to the k-th",
         source=_outlier('''    scores, _ = cosine_topk(query_features, index_features, k)
    return (1 - scores).mean(dim=-1)
''')),
    dict(notebook=NB, grade_id="knn_outlier_score", caught="visible",
         mistake="off by one: the (k+1)-th neighbour (column k of a top-(k+1))",
         source=_outlier('''    scores, _ = cosine_topk(query_features, index_features, min(k + 1, len(index_features)))
    return 1 - scores[:, -1]
''')),
    dict(notebook=NB, grade_id="knn_outlier_score", caught="hidden",
         mistake="normalises the caller's features in place",
         source=_outlier('''    query_features /= query_features.norm(dim=-1, keepdim=True)
    index_features /= index_features.norm(dim=-1, keepdim=True)
    sims = query_features @ index_features.t()
    return 1 - sims.topk(k, dim=-1).values[:, -1]
''')),
    dict(notebook=NB, grade_id="knn_outlier_score", caught="hidden",
         mistake="squeeze() of a (Q, 1) column: one query gives a 0-d tensor, not shape (1,)",
         source=_outlier('''    scores, _ = cosine_topk(query_features, index_features, k)
    return (1 - scores[:, k - 1:k]).squeeze()
''')),
    # ---- plcc and srcc
    dict(notebook=NB, grade_id="correlation", caught="visible",
         mistake="plcc: no centring (the cosine of the raw values)",
         source=_corr(plcc='''    x, y = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
''')),
    dict(notebook=NB, grade_id="correlation", caught="visible",
         mistake="plcc: np.cov (n - 1) over np.std (n): off by n / (n - 1)",
         source=_corr(plcc='''    x, y = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    return float(np.cov(x, y)[0, 1] / (x.std() * y.std()))
''')),
    dict(notebook=NB, grade_id="correlation", caught="visible",
         mistake="srcc: argsort once (positions of the sorted items), not ranks",
         source=_corr(srcc='''    return plcc(np.argsort(np.asarray(pred)), np.argsort(np.asarray(target)))
''')),
    dict(notebook=NB, grade_id="correlation", caught="visible",
         mistake="srcc: argsort(argsort(x)) ranks, ties not averaged",
         source=_corr(srcc='''    return plcc(np.argsort(np.argsort(np.asarray(pred))), np.argsort(np.argsort(np.asarray(target))))
''')),
    dict(notebook=NB, grade_id="correlation", caught="visible",
         mistake="srcc: ties get the lowest of their ranks (rankdata method='min')",
         source=_corr(srcc='''    from scipy.stats import rankdata

    return plcc(rankdata(pred, method="min"), rankdata(target, method="min"))
''')),
    dict(notebook=NB, grade_id="correlation", caught="visible",
         mistake="srcc: sorts the caller's arrays in place to find the average ranks",
         source=_corr(srcc='''    def ranks(v):
        v = np.asarray(v, dtype=np.float64)
        original = v.copy()
        v.sort()
        return (np.searchsorted(v, original, "left") + np.searchsorted(v, original, "right") + 1) / 2

    return plcc(ranks(pred), ranks(target))
''')),
    dict(notebook=NB, grade_id="correlation", caught="hidden",
         mistake="abs() of the correlations: a decreasing relation scores positive",
         source=_corr(plcc='''    x, y = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    return float(abs((x * y).sum()) / np.sqrt((x * x).sum() * (y * y).sum()))
''')),
    dict(notebook=NB, grade_id="correlation", caught="hidden",
         mistake="plcc: centres the caller's arrays in place (x -= x.mean())",
         source=_corr(plcc='''    x, y = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    x -= x.mean()
    y -= y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
''')),
]
