"""Denoising diffusion (DDPM, DDIM) and flow matching, with classifier-free guidance.

Introduced in 04_diffusion. Conventions, fixed across the file and the notebook:

- **DDPM time is a zero-based integer** ``t ∈ {0, …, T-1}``; ``alphas_cumprod[t]`` is ᾱ_t, the
  share of the signal's variance left after ``t + 1`` noising steps, so ``x_t`` at ``t = 0`` is
  already (slightly) noisy and ``t = T-1`` is (almost) pure noise.
- **Flow-matching time is continuous** ``t ∈ [0, 1]``: ``x_0`` is Gaussian noise, ``x_1`` is data,
  ``x_t = (1-t) x_0 + t x_1`` and the target velocity is ``x_1 - x_0``.
- **Classifier-free guidance** uses ``guided = (1 + w)·cond − w·uncond`` (Ho & Salimans 2022):
  ``w = 0`` is the plain conditional model; ``w > 0`` pushes away from the unconditional one.
  The other common form, ``uncond + s·(cond − uncond)``, is the same with ``s = 1 + w``.
- Models are called as ``model(x, t, y)``; ``y`` holds class labels, with ``NULL_LABEL``-style
  index ``num_classes`` meaning "no label" (the unconditional model), or is ``None``.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..runtime import Budget
from ..train import History, guard_message, set_lr, warmup_cosine

# --------------------------------------------------------------------------------------------
# The noise schedule and the forward process q(x_t | x_0)
# --------------------------------------------------------------------------------------------


def cosine_schedule(T: int, s: float = 0.008, max_beta: float = 0.999) -> tuple[torch.Tensor, torch.Tensor]:
    """(betas, alphas_cumprod), each of shape (T,), of the cosine schedule (Nichol & Dhariwal 2021).

    ᾱ(u) = f(u)/f(0) with f(u) = cos²(((u/T) + s)/(1 + s) · π/2); step t (zero-based) ends at
    u = t + 1, so ``alphas_cumprod[t] = f(t+1)/f(0)`` and ``betas[t] = 1 - f(t+1)/f(t)``, clipped
    at ``max_beta`` (the last steps would otherwise reach β = 1). ᾱ is then recomputed as the
    cumulative product of 1 - β so the two always agree.

    Why cosine rather than DDPM's linear β: on small images (our 8×8 digits have 64 pixels) the
    linear schedule destroys the signal within the first half of the steps, so half the
    network's training and sampling is spent on near-pure noise; the cosine schedule lowers
    ᾱ almost linearly in t and keeps every step useful.
    """
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    if s < 0 or not 0 < max_beta < 1:
        raise ValueError(f"need s >= 0 and 0 < max_beta < 1, got s={s}, max_beta={max_beta}")
    u = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    return betas.float(), alphas_cumprod.float()


def linear_schedule(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> tuple[torch.Tensor, torch.Tensor]:
    """(betas, alphas_cumprod) of DDPM's linear schedule (Ho et al. 2020; designed for T = 1000)."""
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    return betas.float(), torch.cumprod(1 - betas, dim=0).float()


def _check_t(t: torch.Tensor, T: int, n: int) -> torch.Tensor:
    t = torch.as_tensor(t)
    if t.dtype.is_floating_point:
        raise ValueError(f"DDPM timesteps are integers 0..T-1, got dtype {t.dtype}")
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"need one timestep per row: shape ({n},) or a scalar, got {tuple(t.shape)}")
    if int(t.min()) < 0 or int(t.max()) >= T:
        raise ValueError(f"timesteps must lie in 0..{T - 1}, got range {int(t.min())}..{int(t.max())}")
    return t


def _per_row(values: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """values[t] reshaped to broadcast against x (one scalar per row)."""
    return values.to(x.device)[t.to(x.device)].reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with the given standard-normal noise:
    ``x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · noise``, one integer timestep per row of x0."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape, got {tuple(x0.shape)} and {tuple(noise.shape)}")
    t = _check_t(t, len(alphas_cumprod), len(x0))
    a = _per_row(alphas_cumprod, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def posterior_variance(betas: torch.Tensor, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, the variance of q(x_{t−1} | x_t, x_0), with ᾱ_{−1} = 1."""
    prev = torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])
    return betas * (1 - prev) / (1 - alphas_cumprod)


# --------------------------------------------------------------------------------------------
# DDPM: the ε-prediction loss, one reverse step, the ancestral sampler; DDIM
# --------------------------------------------------------------------------------------------


def ddpm_loss(model: Callable, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
              alphas_cumprod: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """The simplified DDPM objective: mean over all elements of (model(x_t, t, y) − noise)²."""
    x_t = q_sample(x0, t, noise, alphas_cumprod)
    return ((model(x_t, t, y) - noise) ** 2).mean()


def ddpm_reverse_step(x_t: torch.Tensor, t: int, eps: torch.Tensor, betas: torch.Tensor,
                      alphas_cumprod: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """One ancestral step x_t → x_{t−1} given the predicted noise ``eps`` (all rows at step t):

    x_{t−1} = (x_t − β_t/√(1 − ᾱ_t) · ε) / √(1 − β_t) + σ_t z,   σ_t² = β̃_t (posterior variance),

    with no noise added at the last step (t = 0), which returns the clean estimate.
    """
    T = len(betas)
    if not isinstance(t, int) or not 0 <= t < T:
        raise ValueError(f"t must be an int in 0..{T - 1}, got {t!r}")
    if not (x_t.shape == eps.shape == noise.shape):
        raise ValueError(f"x_t, eps and noise must have one shape, got {tuple(x_t.shape)}, "
                         f"{tuple(eps.shape)}, {tuple(noise.shape)}")
    beta, a_bar = betas[t].item(), alphas_cumprod[t].item()
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(1 - beta)
    if t == 0:
        return mean
    return mean + posterior_variance(betas, alphas_cumprod)[t].sqrt().item() * noise


def guided_prediction(cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance: ``(1 + w)·cond − w·uncond`` (w = 0: the conditional model)."""
    if cond.shape != uncond.shape:
        raise ValueError(f"cond and uncond must have one shape, got {tuple(cond.shape)} and {tuple(uncond.shape)}")
    if w < 0:
        raise ValueError(f"the guidance scale w must be >= 0, got {w}")
    return (1 + w) * cond - w * uncond


def _predict(model: Callable, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None, w: float,
             null_label: int | None, combine: Callable = guided_prediction) -> torch.Tensor:
    """The model's output, guided when w > 0 (cond and uncond in one batch of 2N rows)."""
    if y is None or w == 0:
        return model(x, t, y)
    if null_label is None:
        raise ValueError("guidance (w > 0) needs null_label, the label index meaning 'no label'")
    both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, torch.full_like(y, null_label)]))
    cond, uncond = both.chunk(2)
    return combine(cond, uncond, w)


def _labels(y: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor | None:
    if y is None:
        return None
    y = torch.as_tensor(y, device=device)
    if y.shape != (n,):
        raise ValueError(f"need one label per sample, shape ({n},), got {tuple(y.shape)}")
    return y


def _clip_x0(x_t: torch.Tensor, eps: torch.Tensor, a_bar: float, clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean estimate x̂_0 = (x_t − √(1−ᾱ) ε)/√ᾱ clipped to [−clip, clip], and the ε consistent with it.

    Near t = T−1 the cosine schedule has ᾱ ≈ 1e-9 and β ≈ 0.999: the ε-form of the reverse step
    divides the network's small errors by √ᾱ or √(1−β) and the sample explodes. Clipping x̂_0 to
    the data range (``clip_denoised`` in the DDPM and improved-DDPM code) keeps it in range.
    """
    x0_hat = ((x_t - math.sqrt(1 - a_bar) * eps) / math.sqrt(a_bar)).clamp(-clip, clip)
    return x0_hat, (x_t - math.sqrt(a_bar) * x0_hat) / math.sqrt(1 - a_bar)


@torch.no_grad()
def ddpm_sample(model: Callable, shape: tuple[int, ...], betas: torch.Tensor, alphas_cumprod: torch.Tensor, *,
                y: torch.Tensor | None = None, w: float = 0.0, null_label: int | None = None,
                generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                keep: int = 0, clip: float | None = 1.0
                ) -> torch.Tensor | tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
    """Ancestral sampling: x_{T−1} ~ N(0, I), then T reverse steps (``ddpm_reverse_step``) down to x_0.

    The predicted ε is made consistent with a clean estimate clipped to [−clip, clip] (see
    ``_clip_x0``; ``clip=None``: off). ``keep > 0`` also returns ``keep`` snapshots (t, x_t).
    """
    T = len(betas)
    x = _randn(shape, generator, device)
    y = _labels(y, shape[0], x.device)
    snaps, every = [], max(1, T // keep) if keep else 0
    for t in range(T - 1, -1, -1):
        eps = _predict(model, x, torch.full((shape[0],), t, device=x.device), y, w, null_label)
        if clip is not None:
            _, eps = _clip_x0(x, eps, alphas_cumprod[t].item(), clip)
        z = _randn(shape, generator, device) if t > 0 else torch.zeros_like(x)
        x = ddpm_reverse_step(x, t, eps, betas, alphas_cumprod, z)
        if keep and (t % every == 0):
            snaps.append((t, x.cpu().clone()))
    return (x, snaps) if keep else x


@torch.no_grad()
def ddim_sample(model: Callable, shape: tuple[int, ...], alphas_cumprod: torch.Tensor, num_steps: int, *,
                y: torch.Tensor | None = None, w: float = 0.0, null_label: int | None = None,
                generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                clip: float | None = 1.0, eta: float = 0.0) -> torch.Tensor:
    """DDIM sampling on ``num_steps`` evenly spaced timesteps of the same ε-model (``ddim_loop``).

    ``eta = 0`` (the default) is deterministic given x_T; ``eta = 1`` on every step is the ancestral
    sampler. x̂_0 is clipped to [−clip, clip] (the data range) and ε recomputed from it: at the first
    steps ᾱ_t ≈ 0 and dividing by √ᾱ_t would blow the network's small errors up (``clip=None``: off).
    """
    predict = predictor(model, y=y, w=w, null_label=null_label, alphas_cumprod=alphas_cumprod, clip=clip)
    return ddim_loop(predict, shape, alphas_cumprod, num_steps, generator, eta=eta, device=device)


# --------------------------------------------------------------------------------------------
# The sampler loops on a prediction function predict(x, t) (04's build exercise)
# --------------------------------------------------------------------------------------------


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str = "cpu"
           ) -> torch.Tensor:
    """Standard-normal noise drawn by ``generator`` on the generator's own device (a CUDA model
    needs a CUDA generator); with no generator, torch's global one on ``device``."""
    if generator is None:
        return torch.randn(shape, device=device)
    return torch.randn(shape, generator=generator, device=generator.device)


def predictor(model: Callable, *, y: torch.Tensor | None = None, w: float = 0.0, null_label: int | None = None,
              alphas_cumprod: torch.Tensor | None = None, clip: float | None = None,
              combine: Callable = guided_prediction) -> Callable[[torch.Tensor, int | float], torch.Tensor]:
    """The network as a function ``predict(x, t)`` of the current batch and one time for all rows
    (an int step for DDPM, a float in [0, 1] for flow matching): ``model(x, t, y)``, guided with
    ``combine(cond, uncond, w)`` when ``w > 0``. For an ε-model, ``alphas_cumprod`` and ``clip``
    return the ε consistent with the clean estimate x̂_0 clipped to [−clip, clip] (``_clip_x0``).
    The sampler loops (``ddpm_loop``, ``ddim_loop``, ``euler_loop``) only ever call ``predict``."""
    if clip is not None and alphas_cumprod is None:
        raise ValueError("clipping the clean estimate needs alphas_cumprod")

    def predict(x: torch.Tensor, t: int | float) -> torch.Tensor:
        yy = _labels(y, len(x), x.device)
        out = _predict(model, x, torch.full((len(x),), t, device=x.device), yy, w, null_label, combine)
        if clip is not None:
            _, out = _clip_x0(x, out, alphas_cumprod[int(t)].item(), clip)
        return out

    return predict


def ddpm_loop(predict: Callable, shape: tuple[int, ...], betas: torch.Tensor, alphas_cumprod: torch.Tensor,
              generator: torch.Generator | None, *, reverse_step: Callable = ddpm_reverse_step,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """The ancestral sampler: x ~ N(0, I) drawn by ``generator`` (on its device), then for
    t = T−1, …, 0: ε = predict(x, t), z ~ N(0, I) drawn for t > 0 only (zeros at t = 0), and
    x ← reverse_step(x, t, ε, betas, alphas_cumprod, z). Returns x_0."""
    with torch.no_grad():
        T = len(betas)
        x = _randn(shape, generator, device)
        for t in range(T - 1, -1, -1):
            eps = predict(x, t)
            z = _randn(shape, generator, x.device) if t > 0 else torch.zeros_like(x)
            x = reverse_step(x, t, eps, betas, alphas_cumprod, z)
        return x


def ddim_times(T: int, num_steps: int) -> list[int]:
    """DDIM's time grid: ``num_steps`` integer steps from T−1 down to 0, evenly spaced and rounded."""
    if not isinstance(num_steps, int) or not 1 <= num_steps <= T:
        raise ValueError(f"num_steps must be an int in 1..{T}, got {num_steps!r}")
    return torch.linspace(T - 1, 0, num_steps).round().long().tolist()


def ddim_loop(predict: Callable, shape: tuple[int, ...], alphas_cumprod: torch.Tensor, num_steps: int,
              generator: torch.Generator | None, eta: float = 0.0, *, device: torch.device | str = "cpu"
              ) -> torch.Tensor:
    """DDIM (Song et al. 2021, eq. 12) on ``ddim_times(T, num_steps)``: at each t with next step s,
    x̂_0 = (x − √(1−ᾱ_t) ε)/√ᾱ_t,  σ = η √((1−ᾱ_s)/(1−ᾱ_t)) √(1 − ᾱ_t/ᾱ_s),
    x_s = √ᾱ_s x̂_0 + √(1−ᾱ_s−σ²) ε + σ z,  with z drawn only when η > 0; the last step returns x̂_0.
    η = 0 is deterministic given x_T; η = 1 on every step (num_steps = T) is the ancestral sampler
    with the posterior variance β̃_t (the same numbers under the same generator)."""
    if not 0 <= eta <= 1:
        raise ValueError(f"eta must lie in [0, 1], got {eta}")
    times = ddim_times(len(alphas_cumprod), num_steps)
    with torch.no_grad():
        x = _randn(shape, generator, device)
        for i, t in enumerate(times):
            eps = predict(x, t)
            a_t = alphas_cumprod[t].item()
            x0_hat = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
            if i + 1 == len(times):
                return x0_hat
            a_s = alphas_cumprod[times[i + 1]].item()
            sigma = eta * math.sqrt((1 - a_s) / (1 - a_t) * (1 - a_t / a_s))
            x = math.sqrt(a_s) * x0_hat + math.sqrt(max(1 - a_s - sigma ** 2, 0.0)) * eps
            if eta > 0:
                x = x + sigma * _randn(shape, generator, x.device)
        return x


def euler_loop(predict: Callable, shape: tuple[int, ...], num_steps: int, generator: torch.Generator | None, *,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """Euler's method for dx/dt = predict(x, t) from noise at t = 0 (drawn by ``generator``) to
    t = 1: ``num_steps`` steps of size 1/num_steps, the velocity taken at the start of each step."""
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
    with torch.no_grad():
        x = _randn(shape, generator, device)
        dt = 1.0 / num_steps
        for i in range(num_steps):
            x = x + dt * predict(x, i * dt)
        return x


# --------------------------------------------------------------------------------------------
# Flow matching (linear path, a.k.a. rectified flow)
# --------------------------------------------------------------------------------------------


def flow_matching_target(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, velocity target) on the straight path from noise x0 (t = 0) to data x1 (t = 1):
    ``x_t = (1 − t) x0 + t x1`` and ``d x_t / dt = x1 − x0``; one t in [0, 1] per row."""
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
    t = torch.as_tensor(t, dtype=x0.dtype, device=x0.device)
    if t.ndim == 0:
        t = t.expand(len(x0))
    if t.shape != (len(x0),):
        raise ValueError(f"need one time per row: shape ({len(x0)},) or a scalar, got {tuple(t.shape)}")
    if float(t.min()) < 0 or float(t.max()) > 1:
        raise ValueError("flow-matching times must lie in [0, 1]")
    tt = t.reshape(-1, *([1] * (x0.ndim - 1)))
    return (1 - tt) * x0 + tt * x1, x1 - x0


def flow_matching_loss(model: Callable, x1: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
                       y: torch.Tensor | None = None) -> torch.Tensor:
    """Conditional flow matching: mean of (model(x_t, t, y) − (x1 − noise))² over all elements."""
    x_t, target = flow_matching_target(noise, x1, t)
    return ((model(x_t, t, y) - target) ** 2).mean()


@torch.no_grad()
def euler_sample(model: Callable, shape: tuple[int, ...], num_steps: int, *, y: torch.Tensor | None = None,
                 w: float = 0.0, null_label: int | None = None, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu", keep: int = 0
                 ) -> torch.Tensor | tuple[torch.Tensor, list[tuple[float, torch.Tensor]]]:
    """Integrate dx/dt = v(x, t) from noise at t = 0 to data at t = 1 with ``num_steps`` Euler steps."""
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
    x = _randn(shape, generator, device)
    y = _labels(y, shape[0], x.device)
    dt = 1.0 / num_steps
    snaps, every = [(0.0, x.cpu().clone())] if keep else [], max(1, num_steps // keep) if keep else 0
    for i in range(num_steps):
        t = torch.full((shape[0],), i * dt, device=x.device)
        x = x + dt * _predict(model, x, t, y, w, null_label)
        if keep and ((i + 1) % every == 0 or i + 1 == num_steps):
            snaps.append(((i + 1) * dt, x.cpu().clone()))
    return (x, snaps) if keep else x


# --------------------------------------------------------------------------------------------
# Classifier-free guidance: label dropout
# --------------------------------------------------------------------------------------------


def drop_labels(y: torch.Tensor, p: float, null_label: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each label by ``null_label`` with probability p: one network learns p(x|y) and p(x)."""
    if not 0 <= p <= 1:
        raise ValueError(f"the label-dropout probability must lie in [0, 1], got {p}")
    drop = torch.rand(y.shape, generator=generator).to(y.device) < p
    return torch.where(drop, torch.full_like(y, null_label), y)


# --------------------------------------------------------------------------------------------
# The denoiser: a residual MLP with time and label embeddings
# --------------------------------------------------------------------------------------------


@dataclass
class DenoiserConfig:
    dim: int = 64             # data dimension (64 pixels; 2 for the toy)
    width: int = 256          # hidden width of the residual blocks
    depth: int = 3            # number of residual blocks
    emb_dim: int = 128        # width of the time (+ label) embedding
    num_classes: int = 0      # 0: unconditional; else labels 0..num_classes-1 and num_classes = "no label"
    time_scale: float = 1.0   # t / time_scale lies in [0, 1]: T for DDPM's integer steps, 1 for flow matching


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of t ∈ [0, 1] (scaled ×1000 like DDPM's integer steps), shape (N, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    """h + MLP(LayerNorm(h) modulated by the embedding): FiLM scale/shift from (time, label)."""

    def __init__(self, width: int, emb_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.film = nn.Linear(emb_dim, 2 * width)
        self.fc1, self.fc2 = nn.Linear(width, 2 * width), nn.Linear(2 * width, width)
        nn.init.zeros_(self.fc2.weight)   # each block starts as the identity: stable early training
        nn.init.zeros_(self.fc2.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(emb).chunk(2, dim=-1)
        z = self.norm(h) * (1 + scale) + shift
        return h + self.fc2(nn.functional.silu(self.fc1(z)))


class Denoiser(nn.Module):
    """ε- or velocity-prediction network ``model(x, t, y)`` for flat vectors (64-pixel digits, 2-D toys)."""

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = c = config
        self.time_mlp = nn.Sequential(nn.Linear(c.emb_dim, c.emb_dim), nn.SiLU(), nn.Linear(c.emb_dim, c.emb_dim))
        self.label_emb = nn.Embedding(c.num_classes + 1, c.emb_dim) if c.num_classes else None
        self.inp = nn.Linear(c.dim, c.width)
        self.blocks = nn.ModuleList(ResBlock(c.width, c.emb_dim) for _ in range(c.depth))
        self.out = nn.Sequential(nn.LayerNorm(c.width), nn.Linear(c.width, c.dim))

    @property
    def null_label(self) -> int | None:
        return self.config.num_classes or None

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.config.dim:
            raise ValueError(f"Denoiser expects (N, {self.config.dim}) inputs, got {tuple(x.shape)}")
        t = torch.as_tensor(t, device=x.device).float().expand(len(x)) / self.config.time_scale
        emb = self.time_mlp(timestep_embedding(t, self.config.emb_dim))
        if self.label_emb is not None:
            y = torch.full((len(x),), self.config.num_classes, device=x.device) if y is None else y
            emb = emb + self.label_emb(y)
        emb = nn.functional.silu(emb)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)


# --------------------------------------------------------------------------------------------
# Training: random minibatches, AdamW, EMA of the weights, a fixed number of steps
# --------------------------------------------------------------------------------------------


class EMA:
    """Exponential moving average of a model's weights: ``ema.model`` is the copy to sample from.

    Diffusion losses are noisy (a random t and noise per example), so the last iterate wobbles;
    the average of the recent iterates is a markedly better sampler for tiny models.
    """

    def __init__(self, model: nn.Module, decay: float = 0.995):
        if not 0 <= decay < 1:
            raise ValueError(f"EMA decay must lie in [0, 1), got {decay}")
        self.decay, self.model = decay, copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1 - self.decay)


def train_denoiser(model: nn.Module, loss_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
                   X: torch.Tensor, y: torch.Tensor | None = None, *, max_steps: int, batch_size: int = 512,
                   lr: float = 2e-3, warmup: float = 0.05, weight_decay: float = 0.0, ema_decay: float = 0.995,
                   time_budget: float | None = None, seed: int = 0, log_every: int = 100) -> tuple[EMA, History]:
    """Train for ``max_steps`` steps of AdamW on random minibatches of ``X`` (with replacement);
    return the EMA of the weights and the history.

    ``loss_fn(model, xb, yb)`` draws its own t and noise. Before step ``s`` (0-based) the
    learning rate is ``lr * warmup_cosine(s / max_steps, warmup, min_ratio=0)``: a linear warmup
    over the first ``warmup`` fraction of the steps (0.05: 100 of 2,000), then a half cosine
    down to zero — the EMA then averages iterates that have settled. The same ``seed`` draws the
    same minibatches. The history logs ``step``, ``train_loss`` (mean since the last record) and
    ``time`` every ``log_every`` steps. ``time_budget`` (seconds) only guards the run: if it is
    spent, training stops early with a ``RuntimeWarning`` and ``history.stopped_by_budget``.
    """
    if not isinstance(max_steps, int) or max_steps < 1 or batch_size < 1:
        raise ValueError(f"need max_steps >= 1 (an int) and batch_size >= 1, got {max_steps!r}, {batch_size}")
    if y is not None and len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    ema, history, budget, total, count = EMA(model, ema_decay), History(), Budget(time_budget), 0.0, 0
    model.train()
    for step in range(1, max_steps + 1):
        set_lr(opt, lr * warmup_cosine((step - 1) / max_steps, warmup, min_ratio=0.0))
        idx = torch.randint(len(X), (batch_size,), generator=gen)
        loss = loss_fn(model, X[idx], None if y is None else y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(model)
        total, count = total + loss.item(), count + 1
        if step % log_every == 0 or step == max_steps or budget.spent:
            history.records.append({"step": step, "train_loss": total / count, "time": budget.elapsed})
            total, count = 0.0, 0
        if budget.spent:
            break
    history.seconds = budget.elapsed
    if step < max_steps:
        history.stopped_by_budget = True
        warnings.warn(guard_message("denoiser training", step, max_steps, time_budget) + " (steps)",
                      RuntimeWarning, stacklevel=2)
    model.eval()
    return ema, history


# --------------------------------------------------------------------------------------------
# A 2-D toy dataset for the first experiments
# --------------------------------------------------------------------------------------------


def make_toy_2d(n: int, kind: str = "moons", generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points of a 2-D toy distribution, roughly zero-mean with unit scale:
    ``"moons"`` (two interleaved half-circles) or ``"ring"`` (8 Gaussians on a circle)."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if kind == "moons":
        u = torch.rand(n, generator=generator) * math.pi
        upper = torch.rand(n, generator=generator) < 0.5
        x = torch.where(upper, torch.cos(u), 1 - torch.cos(u))
        yy = torch.where(upper, torch.sin(u), 0.5 - torch.sin(u))
        pts = torch.stack([x - 0.5, yy - 0.25], dim=1) * 1.2
        return pts + 0.06 * torch.randn(n, 2, generator=generator)
    if kind == "ring":
        k = torch.randint(8, (n,), generator=generator).float() * (2 * math.pi / 8)
        centres = torch.stack([torch.cos(k), torch.sin(k)], dim=1) * 1.5
        return centres + 0.1 * torch.randn(n, 2, generator=generator)
    raise ValueError(f"unknown toy dataset {kind!r}: use 'moons' or 'ring'")
