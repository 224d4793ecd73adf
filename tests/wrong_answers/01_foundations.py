"""Plausible wrong answers for 01_foundations: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "01_foundations.ipynb": {
        # Heads and tails swapped: the visible tests use a symmetric case (5 of 10, Beta(2, 2)).
        "beta_binomial": '''
def beta_binomial_posterior(k: int, n: int, a: float = 1.0, b: float = 1.0) -> tuple[float, float]:
    """Parameters (a_post, b_post) of the Beta posterior after k heads in n tosses under a Beta(a, b) prior."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if a <= 0 or b <= 0:
        raise ValueError(f"the Beta prior needs a > 0 and b > 0, got a={a}, b={b}")
    return float(a + n - k), float(b + k)
''',
        # A standard-normal prior whatever prior_std says: the visible test uses prior_std = 1.
        "elbo_logistic": '''
def elbo_logistic(mu: torch.Tensor, log_sigma: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                  eps: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """Reparameterised Monte-Carlo ELBO of Bayesian logistic regression with a N(0, prior_std^2 I) prior."""
    w = mu + torch.exp(log_sigma) * eps
    logits = w @ X.T
    log_lik = (y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits)).sum(dim=1)
    log_prior = (-0.5 * w ** 2 - 0.5 * math.log(2 * math.pi)).sum(dim=1)
    entropy = (log_sigma + 0.5 * math.log(2 * math.pi * math.e)).sum()
    return (log_lik + log_prior).mean() + entropy
''',
        # fan_out (shape[0]) instead of fan_in: the visible tests use a square layer.
        "init_std": '''
def init_std(shape: tuple[int, ...], scheme: str) -> float:
    """Standard deviation of the initial weights of a tensor of this shape: 'normal', 'lecun' or 'he'."""
    fan = shape[0]
    if scheme == "normal":
        return 1.0
    if scheme == "lecun":
        return math.sqrt(1.0 / fan)
    if scheme == "he":
        return math.sqrt(2.0 / fan)
    raise ValueError(f"unknown scheme {scheme!r}")
''',
        # torch.var's default unbiased (N - 1) variance: invisible at N = 256, wrong at N = 4.
        "batch_norm_forward": '''
def batch_norm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Training-mode batch normalisation of x (N, C) with per-feature scale gamma (C,) and shift beta (C,)."""
    mean = x.mean(dim=0)
    var = x.var(dim=0)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta
''',
    }
}
