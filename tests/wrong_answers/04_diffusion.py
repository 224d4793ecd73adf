"""Plausible wrong answers for 04_diffusion: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "04_diffusion.ipynb": {
        # alphas_cumprod taken from the unclipped formula while the betas are clipped: the two arrays
        # disagree at the last step (the visible tests only look at ranges and monotonicity).
        "cosine_schedule": '''
def cosine_schedule(T: int, s: float = 0.008) -> tuple[torch.Tensor, torch.Tensor]:
    """(betas, alphas_cumprod) of the cosine schedule, each of shape (T,), float32."""
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    u = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    alphas_cumprod = f[1:] / f[0]
    return betas.float(), alphas_cumprod.float()
''',
        # The square roots forgotten: at t = 0 (the visible test) abar is 0.99996, so x_t is still ~x0.
        "q_sample": '''
def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, with abar_t = alphas_cumprod[t] per row."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape, got {tuple(x0.shape)} and {tuple(noise.shape)}")
    a = alphas_cumprod[t].reshape(-1, 1)
    return a * x0 + (1 - a) * noise
''',
        # The network is shown the clean x0 instead of x_t: invisible to a network that always answers 0.
        "ddpm_loss": '''
def ddpm_loss(model, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor,
              y: torch.Tensor | None = None) -> torch.Tensor:
    """Simplified DDPM loss: mean of (model(x_t, t, y) - noise)^2 over all elements."""
    return ((model(x0, t, y) - noise) ** 2).mean()
''',
        # sigma_t^2 = beta_t instead of the posterior variance: the visible tests use zero noise or t = 0.
        "reverse_step": '''
def ddpm_reverse_step(x_t: torch.Tensor, t: int, eps: torch.Tensor, betas: torch.Tensor,
                      alphas_cumprod: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """One ancestral step x_t -> x_{t-1} with the posterior variance; no noise at t = 0."""
    if not 0 <= t < len(betas):
        raise ValueError(f"t must lie in 0..{len(betas) - 1}, got {t}")
    beta, a_bar = betas[t], alphas_cumprod[t]
    mean = (x_t - beta / torch.sqrt(1 - a_bar) * eps) / torch.sqrt(1 - beta)
    if t == 0:
        return mean
    return mean + torch.sqrt(beta) * noise
''',
        # The velocity points from the data to the noise: same length, opposite sign.
        "fm_target": '''
def flow_matching_target(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, velocity target) on the straight path from noise x0 (t = 0) to data x1 (t = 1)."""
    tt = t.reshape(-1, 1)
    return (1 - tt) * x0 + tt * x1, x0 - x1
''',
        # The weight 1 + w on the wrong term: invisible when cond == uncond (the visible tests).
        "guidance": '''
def guided_prediction(cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance: (1 + w) * cond - w * uncond; w = 0 is the conditional model."""
    if w < 0:
        raise ValueError(f"the guidance scale w must be >= 0, got {w}")
    return (1 + w) * uncond - w * cond
''',
    }
}
