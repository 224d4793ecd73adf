"""Plausible wrong answers for 02_vae: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "02_vae.ipynb": {
        # The 1/2 forgotten: still 0 at the prior and still >= 0, so the visible tests pass.
        "gaussian_kl": '''
def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(log_var)) || N(0, I)) for each row: shape (N,)."""
    return (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=-1)
''',
        # exp(log_var) used as the standard deviation: right only when log_var = 0 (the visible test).
        "reparameterize": '''
def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(log_var / 2), differentiable in mu and log_var."""
    return mu + torch.exp(log_var) * eps
''',
        # The KL added instead of subtracted: the visible tests use q = prior, where the KL is 0.
        "elbo": '''
def elbo(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
         beta: float = 1.0) -> torch.Tensor:
    """One-sample (beta-)ELBO per image: log p(x | z) - beta * KL(q(z | x) || N(0, I)), shape (N,)."""
    log_lik = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)
    return log_lik + beta * gaussian_kl(mu, log_var)
''',
        # log k forgotten: exact for k = 1 (the visible test), too high by log k otherwise.
        "iwae": '''
def iwae_from_samples(x: torch.Tensor, logits: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                      log_var: torch.Tensor) -> torch.Tensor:
    """log (1/k) sum_j p(x|z_j) p(z_j) / q(z_j|x) for k codes per image: shape (N,)."""
    log_lik = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
    log_prior = -0.5 * (math.log(2 * math.pi) + z ** 2).sum(-1)
    log_q = -0.5 * (math.log(2 * math.pi) + log_var + (z - mu) ** 2 / log_var.exp()).sum(-1)
    return torch.logsumexp(log_prior + log_lik - log_q, dim=0)
''',
    },
}
