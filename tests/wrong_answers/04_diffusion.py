"""Plausible wrong answers for 04_diffusion, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about (the square roots, β for β̃, the
flow's sign, the weight 1 + w on the wrong term, …); the learner's own run of the visible tests
shows it, with a message that names it. ``caught="hidden"``: the answer passes the visible tests
(it overfits them: special-cases their inputs, changes its inputs in place, ignores an argument
the visible tests keep fixed) and a hidden test catches it.

Each wrong answer is the model answer with one mistake put in (``_edit``).
"""

NB = "04_diffusion.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments

SCHEDULE = '''
def cosine_schedule(T: int, s: float = 0.008) -> tuple[torch.Tensor, torch.Tensor]:
    """(betas, alphas_cumprod) of the cosine schedule, each of shape (T,), float32."""
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    u = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    return betas.float(), alphas_cumprod.float()
'''

Q_SAMPLE = '''
def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, with abar_t = alphas_cumprod[t] per row."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape, got {tuple(x0.shape)} and {tuple(noise.shape)}")
    a = alphas_cumprod[t].reshape(-1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
'''

LOSS = '''
def ddpm_loss(model, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor,
              y: torch.Tensor | None = None) -> torch.Tensor:
    """Simplified DDPM loss: mean of (model(x_t, t, y) - noise)^2 over all elements."""
    x_t = q_sample(x0, t, noise, alphas_cumprod)
    return ((model(x_t, t, y) - noise) ** 2).mean()
'''

STEP = '''
def ddpm_reverse_step(x_t: torch.Tensor, t: int, eps: torch.Tensor, betas: torch.Tensor,
                      alphas_cumprod: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """One ancestral step x_t -> x_{t-1} with the posterior variance; no noise at t = 0."""
    if not 0 <= t < len(betas):
        raise ValueError(f"t must lie in 0..{len(betas) - 1}, got {t}")
    beta, a_bar = betas[t], alphas_cumprod[t]
    mean = (x_t - beta / torch.sqrt(1 - a_bar) * eps) / torch.sqrt(1 - beta)
    if t == 0:
        return mean
    var = (1 - alphas_cumprod[t - 1]) / (1 - a_bar) * beta
    return mean + torch.sqrt(var) * noise
'''

FM = '''
def flow_matching_target(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, velocity target) on the straight path from noise x0 (t = 0) to data x1 (t = 1)."""
    tt = t.reshape(-1, 1)
    return (1 - tt) * x0 + tt * x1, x1 - x0
'''

GUIDE = '''
def guided_prediction(cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance: (1 + w) * cond - w * uncond; w = 0 is the conditional model."""
    if w < 0:
        raise ValueError(f"the guidance scale w must be >= 0, got {w}")
    return (1 + w) * cond - w * uncond
'''

DDPM_SAMPLER = '''
def sample_ddpm(predict, shape: tuple[int, ...], betas: torch.Tensor, alphas_cumprod: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
    """Ancestral sampling: x ~ N(0, I), then one reverse step for each t = T-1, ..., 0."""
    x = torch.randn(shape, generator=generator, device=generator.device)
    for t in range(len(betas) - 1, -1, -1):
        eps = predict(x, t)
        z = torch.randn(shape, generator=generator, device=generator.device) if t > 0 else torch.zeros_like(x)
        x = ddpm_reverse_step(x, t, eps, betas, alphas_cumprod, z)
    return x
'''

DDIM_SAMPLER = '''
def sample_ddim(predict, shape: tuple[int, ...], alphas_cumprod: torch.Tensor, num_steps: int,
                generator: torch.Generator, eta: float = 0.0) -> torch.Tensor:
    """DDIM on num_steps evenly spaced steps: eta = 0 deterministic, eta = 1 on every step = ancestral."""
    T = len(alphas_cumprod)
    if not isinstance(num_steps, int) or not 1 <= num_steps <= T:
        raise ValueError(f"num_steps must be an int in 1..{T}, got {num_steps!r}")
    times = torch.linspace(T - 1, 0, num_steps).round().long().tolist()
    x = torch.randn(shape, generator=generator, device=generator.device)
    for i, t in enumerate(times):
        eps = predict(x, t)
        a_t = alphas_cumprod[t]
        x0_hat = (x - torch.sqrt(1 - a_t) * eps) / torch.sqrt(a_t)
        if i == len(times) - 1:
            return x0_hat
        a_s = alphas_cumprod[times[i + 1]]
        sigma = eta * torch.sqrt((1 - a_s) / (1 - a_t) * (1 - a_t / a_s))
        x = torch.sqrt(a_s) * x0_hat + torch.sqrt((1 - a_s - sigma ** 2).clamp(min=0)) * eps
        if eta > 0:
            x = x + sigma * torch.randn(shape, generator=generator, device=generator.device)
'''

EULER_SAMPLER = '''
def sample_euler(predict, shape: tuple[int, ...], num_steps: int, generator: torch.Generator) -> torch.Tensor:
    """Euler's method for dx/dt = predict(x, t) from noise at t = 0 to data at t = 1."""
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
    x = torch.randn(shape, generator=generator, device=generator.device)
    dt = 1.0 / num_steps
    for i in range(num_steps):
        x = x + dt * predict(x, i * dt)
    return x
'''


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


def _w(grade_id: str, caught: str, mistake: str, source: str) -> dict:
    return dict(notebook=NB, grade_id=grade_id, caught=caught, mistake=mistake, source=source)


_F_LINE = "    f = torch.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2\n"

EACH_ALONE = [
    # ---- cosine_schedule
    _w("cosine_schedule", "visible", "alphas_cumprod = f(t+1)/f(0), not recomputed from the clipped betas",
       _edit(SCHEDULE, "alphas_cumprod = torch.cumprod(1 - betas, dim=0)", "alphas_cumprod = f[1:] / f[0]")),
    _w("cosine_schedule", "visible", "betas not clipped (the last beta is 1)",
       _edit(SCHEDULE, "(1 - f[1:] / f[:-1]).clamp(max=0.999)", "(1 - f[1:] / f[:-1])")),
    _w("cosine_schedule", "visible", "off by one: betas[t] = 1 - f(t)/f(t-1) on u = 0..T-1 (first beta 0)",
       _edit(SCHEDULE, "betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)",
             "betas = torch.cat([f.new_zeros(1), 1 - f[1:-1] / f[:-2]]).clamp(max=0.999)")),
    _w("cosine_schedule", "visible", "alphas_cumprod returned in float64",
       _edit(SCHEDULE, "return betas.float(), alphas_cumprod.float()", "return betas.float(), alphas_cumprod")),
    _w("cosine_schedule", "visible", "no argument check (T = 0 returns empty arrays)",
       _edit(SCHEDULE, '''    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
''', "")),
    _w("cosine_schedule", "hidden", "the offset s ignored (always 0.008)",
       _edit(SCHEDULE, _F_LINE, "    f = torch.cos((u / T + 0.008) / (1 + 0.008) * math.pi / 2) ** 2\n")),
    _w("cosine_schedule", "hidden", "only T < 1 rejected (T = 2.5 runs)",
       _edit(SCHEDULE, "if not isinstance(T, int) or T < 1:", "if T < 1:")),
    _w("cosine_schedule", "hidden", "special-cases the visible tests' T = 10 and 1000; s ignored otherwise",
       _edit(SCHEDULE, _F_LINE, "    s = s if T in (10, 1000) else 0.0\n" + _F_LINE)),
    # ---- q_sample
    _w("q_sample", "visible", "the square roots forgotten (variance shares used as amplitudes)",
       _edit(Q_SAMPLE, "return a.sqrt() * x0 + (1 - a).sqrt() * noise", "return a * x0 + (1 - a) * noise")),
    _w("q_sample", "visible", "the square root only on the signal",
       _edit(Q_SAMPLE, "return a.sqrt() * x0 + (1 - a).sqrt() * noise", "return a.sqrt() * x0 + (1 - a) * noise")),
    _w("q_sample", "visible", "alphas_cumprod[t - 1] (one-based thinking)",
       _edit(Q_SAMPLE, "a = alphas_cumprod[t].reshape(-1, 1)", "a = alphas_cumprod[t - 1].reshape(-1, 1)")),
    _w("q_sample", "visible", "one timestep for the whole batch (t[0])",
       _edit(Q_SAMPLE, "a = alphas_cumprod[t].reshape(-1, 1)", "a = alphas_cumprod[t[0]]")),
    _w("q_sample", "hidden", "scales x0 in place (x0.mul_)",
       _edit(Q_SAMPLE, "return a.sqrt() * x0 + (1 - a).sqrt() * noise", "return x0.mul_(a.sqrt()) + (1 - a).sqrt() * noise")),
    _w("q_sample", "hidden", "special-cases the visible tests' (6, 64) batch; no square roots otherwise",
       _edit(Q_SAMPLE, "    return a.sqrt() * x0 + (1 - a).sqrt() * noise", '''    if x0.shape != (6, 64):
        return a * x0 + (1 - a) * noise
    return a.sqrt() * x0 + (1 - a).sqrt() * noise''')),
    # ---- ddpm_loss
    _w("ddpm_loss", "visible", "the network shown the clean x0 instead of x_t",
       _edit(LOSS, "model(x_t, t, y)", "model(x0, t, y)")),
    _w("ddpm_loss", "visible", "sum instead of mean",
       _edit(LOSS, "** 2).mean()", "** 2).sum()")),
    _w("ddpm_loss", "visible", "mean over pixels only (one loss per row)",
       _edit(LOSS, "** 2).mean()", "** 2).mean(dim=1)")),
    _w("ddpm_loss", "visible", "regresses the clean image x0 instead of the noise",
       _edit(LOSS, "- noise) ** 2", "- x0) ** 2")),
    _w("ddpm_loss", "hidden", "the labels not passed to the network",
       _edit(LOSS, "model(x_t, t, y)", "model(x_t, t, None)")),
    _w("ddpm_loss", "hidden", "the network given t / 1000 instead of the integer step",
       _edit(LOSS, "model(x_t, t, y)", "model(x_t, t / 1000, y)")),
    _w("ddpm_loss", "hidden", "special-cases the visible tests' (8, 64) batch; the clean x0 otherwise",
       _edit(LOSS, "    x_t = q_sample(x0, t, noise, alphas_cumprod)\n",
             "    x_t = q_sample(x0, t, noise, alphas_cumprod) if x0.shape == (8, 64) else x0\n")),
    # ---- ddpm_reverse_step
    _w("reverse_step", "visible", "sigma_t^2 = beta_t instead of the posterior variance",
       _edit(STEP, "var = (1 - alphas_cumprod[t - 1]) / (1 - a_bar) * beta", "var = beta")),
    _w("reverse_step", "visible", "noise added at the last step (t = 0) too",
       _edit(STEP, '''    if t == 0:
        return mean
    var = (1 - alphas_cumprod[t - 1]) / (1 - a_bar) * beta''',
             "    var = (1 - (alphas_cumprod[t - 1] if t > 0 else 1.0)) / (1 - a_bar) * beta + (1e-2 if t == 0 else 0.0)")),
    _w("reverse_step", "visible", "the mean not divided by sqrt(alpha_t)",
       _edit(STEP, "* eps) / torch.sqrt(1 - beta)", "* eps)")),
    _w("reverse_step", "visible", "the variance not square-rooted",
       _edit(STEP, "mean + torch.sqrt(var) * noise", "mean + var * noise")),
    _w("reverse_step", "visible", "beta_t / (1 - abar_t) in the mean (no square root)",
       _edit(STEP, "beta / torch.sqrt(1 - a_bar) * eps", "beta / (1 - a_bar) * eps")),
    _w("reverse_step", "visible", "no range check (t = 1000 raises IndexError)",
       _edit(STEP, '''    if not 0 <= t < len(betas):
        raise ValueError(f"t must lie in 0..{len(betas) - 1}, got {t}")
''', "")),
    _w("reverse_step", "hidden", "updates x_t in place (x_t -= ...)",
       _edit(STEP, "    mean = (x_t - beta / torch.sqrt(1 - a_bar) * eps) / torch.sqrt(1 - beta)\n",
             "    x_t -= beta / torch.sqrt(1 - a_bar) * eps\n    mean = x_t / torch.sqrt(1 - beta)\n")),
    _w("reverse_step", "hidden", "special-cases the visible tests' steps (1, 5); sigma^2 = beta otherwise",
       _edit(STEP, "var = (1 - alphas_cumprod[t - 1]) / (1 - a_bar) * beta",
             "var = (1 - alphas_cumprod[t - 1]) / (1 - a_bar) * beta if t in (1, 5, 500) else beta")),
    # ---- flow_matching_target
    _w("fm_target", "visible", "the velocity points from the data to the noise (x0 - x1)",
       _edit(FM, "tt * x1, x1 - x0", "tt * x1, x0 - x1")),
    _w("fm_target", "visible", "the path runs from data to noise (t x0 + (1 - t) x1)",
       _edit(FM, "(1 - tt) * x0 + tt * x1", "tt * x0 + (1 - tt) * x1")),
    _w("fm_target", "visible", "the velocity normalised to unit length per row",
       _edit(FM, "tt * x1, x1 - x0", "tt * x1, (x1 - x0) / (x1 - x0).norm(dim=1, keepdim=True)")),
    _w("fm_target", "visible", "the target is the data x1, not the velocity",
       _edit(FM, "tt * x1, x1 - x0", "tt * x1, x1")),
    _w("fm_target", "hidden", "scales the noise in place (x0.mul_)",
       _edit(FM, "(1 - tt) * x0 + tt * x1, x1 - x0", "x1 - x0, x0.mul_(1 - tt) + tt * x1")
       .replace("    return x1 - x0, x0.mul_(1 - tt) + tt * x1", "    v = x1 - x0\n    return x0.mul_(1 - tt) + tt * x1, v")),
    _w("fm_target", "hidden", "special-cases the visible tests' (4, 64) batch; x0 - x1 otherwise",
       _edit(FM, "    return (1 - tt) * x0 + tt * x1, x1 - x0",
             "    return (1 - tt) * x0 + tt * x1, (x1 - x0) if x0.shape == (4, 64) else (x0 - x1)")),
    # ---- guided_prediction
    _w("guidance", "visible", "the weight 1 + w on the unconditional term",
       _edit(GUIDE, "(1 + w) * cond - w * uncond", "(1 + w) * uncond - w * cond")),
    _w("guidance", "visible", "uncond + w (cond - uncond): the other convention's s used as w",
       _edit(GUIDE, "(1 + w) * cond - w * uncond", "uncond + w * (cond - uncond)")),
    _w("guidance", "visible", "w (cond - uncond) without the conditional term",
       _edit(GUIDE, "(1 + w) * cond - w * uncond", "cond + w * cond - w * uncond if w == 0 else w * (cond - uncond)")),
    _w("guidance", "visible", "no check of w (a negative scale accepted)",
       _edit(GUIDE, '''    if w < 0:
        raise ValueError(f"the guidance scale w must be >= 0, got {w}")
''', "")),
    _w("guidance", "hidden", "scales cond in place (cond.mul_)",
       _edit(GUIDE, "(1 + w) * cond - w * uncond", "cond.mul_(1 + w) - w * uncond")),
    _w("guidance", "hidden", "special-cases the visible tests' scales (0, 1, 2, 3); swapped otherwise",
       _edit(GUIDE, "    return (1 + w) * cond - w * uncond", '''    if w in (0.0, 1.0, 2.0, 3.0):
        return (1 + w) * cond - w * uncond
    return (1 + w) * uncond - w * cond''')),
    # ---- sample_ddpm (build)
    _w("ddpm_sampler", "visible", "the loop stops before t = 0 (range(T - 1, 0, -1))",
       _edit(DDPM_SAMPLER, "range(len(betas) - 1, -1, -1)", "range(len(betas) - 1, 0, -1)")),
    _w("ddpm_sampler", "visible", "the loop starts at t = T (one step too early)",
       _edit(DDPM_SAMPLER, "range(len(betas) - 1, -1, -1)", "range(len(betas), -1, -1)")),
    _w("ddpm_sampler", "visible", "z from torch's global generator (torch.randn_like)",
       _edit(DDPM_SAMPLER, "z = torch.randn(shape, generator=generator, device=generator.device) if t > 0",
             "z = torch.randn_like(x) if t > 0")),
    _w("ddpm_sampler", "visible", "one z drawn before the loop and reused at every step",
       _edit(DDPM_SAMPLER, "z = torch.randn(shape, generator=generator, device=generator.device) if t > 0 else torch.zeros_like(x)",
             "z = z_once if t > 0 else torch.zeros_like(x)")
       .replace("    for t in range(", "    z_once = torch.randn(shape, generator=generator, device=generator.device)\n    for t in range(")),
    _w("ddpm_sampler", "visible", "the starting noise drawn without the generator",
       _edit(DDPM_SAMPLER, "    x = torch.randn(shape, generator=generator, device=generator.device)\n",
             "    x = torch.randn(shape)\n")),
    _w("ddpm_sampler", "hidden", "noise drawn on the default (CPU) device and moved (.to(x.device)): breaks with a CUDA generator",
       _edit(DDPM_SAMPLER, "z = torch.randn(shape, generator=generator, device=generator.device) if t > 0",
             "z = torch.randn(shape, generator=generator).to(x.device) if t > 0")),
    _w("ddpm_sampler", "hidden", "hard-codes the visible tests' T = 20 steps",
       _edit(DDPM_SAMPLER, "range(len(betas) - 1, -1, -1)", "range(19, -1, -1)")),
    # ---- sample_ddim (build)
    _w("ddim_sampler", "visible", "sigma without the eta factor (always stochastic)",
       _edit(DDIM_SAMPLER, "sigma = eta * torch.sqrt(", "sigma = torch.sqrt(")),
    _w("ddim_sampler", "visible", "the eps term ignores sigma (sqrt(1 - abar_s))",
       _edit(DDIM_SAMPLER, "torch.sqrt((1 - a_s - sigma ** 2).clamp(min=0)) * eps", "torch.sqrt(1 - a_s) * eps")),
    _w("ddim_sampler", "visible", "sigma = eta * sqrt(1 - abar_s) (the wrong variance)",
       _edit(DDIM_SAMPLER, "sigma = eta * torch.sqrt((1 - a_s) / (1 - a_t) * (1 - a_t / a_s))", "sigma = eta * torch.sqrt(1 - a_s)")),
    _w("ddim_sampler", "visible", "the grid truncated (.long() without .round())",
       _edit(DDIM_SAMPLER, ".round().long().tolist()", ".long().tolist()")),
    _w("ddim_sampler", "visible", "returns the noisy x at the last time instead of x0_hat",
       _edit(DDIM_SAMPLER, "            return x0_hat\n", "            return x\n")),
    _w("ddim_sampler", "visible", "no check of num_steps (0 steps returns None)",
       _edit(DDIM_SAMPLER, '''    if not isinstance(num_steps, int) or not 1 <= num_steps <= T:
        raise ValueError(f"num_steps must be an int in 1..{T}, got {num_steps!r}")
''', "")),
    _w("ddim_sampler", "hidden", "draws z even when eta = 0 (sigma = 0: same numbers, one extra draw per step)",
       _edit(DDIM_SAMPLER, "        if eta > 0:\n            x = x + sigma", "        if True:\n            x = x + sigma")),
    _w("ddim_sampler", "hidden", "only num_steps' range checked (2.0 steps accepted)",
       _edit(DDIM_SAMPLER, "if not isinstance(num_steps, int) or not 1 <= num_steps <= T:", "if not 1 <= num_steps <= T:")),
    _w("ddim_sampler", "hidden", "special-cases the visible tests' 5 and 20 steps; the grid truncated otherwise",
       _edit(DDIM_SAMPLER, ".round().long().tolist()", ".round().long().tolist() if num_steps in (5, 20) else "
             "torch.linspace(T - 1, 0, num_steps).long().tolist()")),
    # ---- sample_euler (build)
    _w("euler_sampler", "visible", "the velocity taken at the end of each step ((i + 1) dt)",
       _edit(EULER_SAMPLER, "predict(x, i * dt)", "predict(x, (i + 1) * dt)")),
    _w("euler_sampler", "visible", "steps against the velocity (x - dt v)",
       _edit(EULER_SAMPLER, "x = x + dt * predict", "x = x - dt * predict")),
    _w("euler_sampler", "visible", "dt = 1 / (num_steps - 1)",
       _edit(EULER_SAMPLER, "dt = 1.0 / num_steps", "dt = 1.0 / max(num_steps - 1, 1)")),
    _w("euler_sampler", "visible", "the starting noise from torch's global generator",
       _edit(EULER_SAMPLER, "x = torch.randn(shape, generator=generator, device=generator.device)", "x = torch.randn(shape)")),
    _w("euler_sampler", "visible", "no check of num_steps (0 steps divides by zero)",
       _edit(EULER_SAMPLER, '''    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
''', "")),
    _w("euler_sampler", "hidden", "starting noise drawn without a device (CPU only)",
       _edit(EULER_SAMPLER, "x = torch.randn(shape, generator=generator, device=generator.device)", "x = torch.randn(shape, generator=generator)")),
    _w("euler_sampler", "hidden", "only num_steps < 1 rejected (2.5 steps raise TypeError)",
       _edit(EULER_SAMPLER, "if not isinstance(num_steps, int) or num_steps < 1:", "if num_steps < 1:")),
    _w("euler_sampler", "hidden", "special-cases the visible tests' 4 and 5 steps; velocities at the step's end otherwise",
       _edit(EULER_SAMPLER, "predict(x, i * dt)", "predict(x, (i if num_steps in (4, 5) else i + 1) * dt)")),
]
