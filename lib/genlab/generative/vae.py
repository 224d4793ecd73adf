"""A small variational autoencoder for flattened 8×8 digits. Introduced in 02_vae.

The model (Kingma & Welling, 2014):

    prior    p(z)     = N(0, I),                         z ∈ R^latent
    decoder  p(x | z) = Π_i Bernoulli(x_i; sigmoid(f(z)_i)), 64 pixels
    encoder  q(z | x) = N(μ(x), diag exp(log_var(x)))

    ELBO(x) = E_q[log p(x | z)] − KL(q(z | x) ‖ p(z))  ≤  log p(x).

**The likelihood.** Digits are grey levels 0..16/16 in [0, 1], not binary, so
"Bernoulli on [0, 1]" needs a reading. We use the plain Bernoulli cross-entropy
(``binary_cross_entropy_with_logits``): for a grey level x_i it equals
E_b[log Bernoulli(b_i; p_i)] with b_i ~ Bernoulli(x_i), the log-likelihood of a digit
*binarised at random* with x as its pixel probabilities. Every number it gives is therefore a
bound, in nats per image, on the expected log-probability of a stochastically binarised digit
(the ELBO holds for any q, so an encoder that sees the grey-level x is allowed). It is
bounded: −log p(x|z) ≥ Σ_i H(x_i) ≈ 13.7 nats on the test digits (the binary entropy of the
grey levels), so a target such as "test −ELBO ≤ 26 nats" compares models on a fixed scale.
The continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019) is a proper density on [0, 1],
but a density can exceed 1: its "nats" are unbounded below and not comparable to a code
length, which is why we do not use it here.

Everything is per sample: each function returns one number per image (shape ``(N,)``), summed
over pixels and latent dimensions, and the loss averages over the batch.

The Gaussian pieces are the ones 01_foundations introduced (``genlab.inference.vi``), which
parameterise σ by log σ; an encoder conventionally outputs the log-*variance*, and
log σ = ½ log_var, so ``gaussian_kl`` and ``reparameterize`` below are thin adapters.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import train as train_lib
from ..inference import vi
from ..runtime import Budget
from ..train import History, as_loader, guard_message, warmup_cosine


StepFn = Callable[[nn.Module, torch.optim.Optimizer, torch.Tensor, float], float]


@dataclass
class VAEConfig:
    """Sizes of the VAE: 64 pixels → hidden → hidden → 2·latent (μ, log σ²), and back."""

    num_pixels: int = 64
    hidden: int = 256
    latent: int = 8

    def __post_init__(self):
        for name in ("num_pixels", "hidden", "latent"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")


# --- the Gaussian pieces ---------------------------------------------------------------------

def _check_mu_log_var(mu: torch.Tensor, log_var: torch.Tensor) -> None:
    if mu.shape != log_var.shape:
        raise ValueError(f"mu and log_var must have the same shape, got {tuple(mu.shape)} "
                         f"and {tuple(log_var.shape)}")


def _randn(shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped ``shape`` with ``like``'s dtype and device, drawn on the generator's
    device (a CPU generator with a CUDA model: drawn on the CPU, then moved), so a seed gives the same
    numbers on every device it can."""
    where = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, dtype=like.dtype, device=where).to(like.device)


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per sample, summed over the last (latent) dimension.

    ½ Σ_d (σ_d² + μ_d² − 1 − log σ_d²), with σ² = exp(log_var): ``genlab.inference.gaussian_kl``
    of 01_foundations with log σ = ½ log_var.
    """
    _check_mu_log_var(mu, log_var)
    return vi.gaussian_kl(mu, 0.5 * log_var)


def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, n_samples: int | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = μ + exp(½ log_var) ⊙ ε, ε ~ N(0, I), differentiable in μ and log_var.

    ``genlab.inference.reparameterize`` of 01_foundations with log σ = ½ log_var (the same numbers
    for the same generator); ``n_samples=k`` returns ``(k, *mu.shape)``. The noise is
    ``torch.randn(shape, generator=generator)`` in ``mu``'s dtype, drawn on the generator's device.
    """
    _check_mu_log_var(mu, log_var)
    if n_samples is not None and (int(n_samples) != n_samples or n_samples < 1):
        raise ValueError(f"n_samples must be a positive int or None, got {n_samples!r}")
    shape = mu.shape if n_samples is None else (int(n_samples), *mu.shape)
    return mu + torch.exp(0.5 * log_var) * _randn(shape, mu, generator)


def gaussian_log_prob(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, diag exp(log_var)), summed over the last dimension (broadcasts over samples)."""
    return -0.5 * (math.log(2 * math.pi) + log_var + (z - mu) ** 2 / log_var.exp()).sum(-1)


# --- the likelihood and the bounds ------------------------------------------------------------

def bernoulli_log_lik(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Σ_i [x_i log p_i + (1 − x_i) log(1 − p_i)] with p = sigmoid(logits), per image.

    Computed from the logits (``binary_cross_entropy_with_logits``), so large logits never
    produce log(0). ``logits`` may carry leading sample dimensions, e.g. (k, N, 64).
    """
    if x.shape[-1] != logits.shape[-1]:
        raise ValueError(f"x and logits must have the same number of pixels, got {tuple(x.shape)} "
                         f"and {tuple(logits.shape)}")
    x = x.expand_as(logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def elbo(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
         beta: float = 1.0) -> torch.Tensor:
    """The (β-weighted) ELBO per image, shape (N,): log p(x | z) − β · KL(q(z | x) ‖ p(z)).

    ``logits`` decode one reparameterised sample z ~ q(z | x) (a one-sample estimate of the
    expected log-likelihood); the KL is in closed form. β = 1 is the ELBO proper; other values
    trade reconstruction against rate (the β sweep of 02_vae).
    """
    if x.ndim != 2 or logits.shape != x.shape:
        raise ValueError(f"x and logits must both be (N, pixels), got {tuple(x.shape)} and {tuple(logits.shape)}")
    if mu.ndim != 2 or mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu must be (N={x.shape[0]}, latent), got {tuple(mu.shape)}")
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    return bernoulli_log_lik(x, logits) - beta * gaussian_kl(mu, log_var)


def log_importance_weights(x: torch.Tensor, logits: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                           log_var: torch.Tensor) -> torch.Tensor:
    """log w_j = log p(x | z_j) + log p(z_j) − log q(z_j | x) for k samples: shape (k, N).

    ``z``: (k, N, latent) drawn from q(z | x); ``logits``: (k, N, pixels), the decoder's output
    for each z_j; ``mu``, ``log_var``: (N, latent).
    """
    if z.ndim != 3 or logits.ndim != 3 or z.shape[:2] != logits.shape[:2]:
        raise ValueError(f"z must be (k, N, latent) and logits (k, N, pixels) with the same k and N, "
                         f"got {tuple(z.shape)} and {tuple(logits.shape)}")
    _check_mu_log_var(mu, log_var)
    if z.shape[1:] != mu.shape:
        raise ValueError(f"z must be (k, *mu.shape) = (k, {tuple(mu.shape)}), got {tuple(z.shape)}")
    log_prior = gaussian_log_prob(z, torch.zeros_like(mu), torch.zeros_like(log_var))
    return bernoulli_log_lik(x, logits) + log_prior - gaussian_log_prob(z, mu, log_var)


def iwae_from_samples(x: torch.Tensor, logits: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                      log_var: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound per image (Burda et al., 2016), shape (N,):

        IWAE_k = log (1/k) Σ_j w_j = logsumexp_j(log w_j) − log k   ≤  log p(x),

    computed in log space (the weights are e^(−25) or smaller). k = 1 is a one-sample ELBO,
    and the bound tightens as k grows.
    """
    log_w = log_importance_weights(x, logits, z, mu, log_var)
    return torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])


# --- the model ------------------------------------------------------------------------------

def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """An MLP VAE: ``encode`` gives (μ, log σ²), ``decode`` gives pixel logits."""

    def __init__(self, config: VAEConfig | None = None):
        super().__init__()
        self.config = config = config or VAEConfig()
        self.encoder = _mlp([config.num_pixels, config.hidden, config.hidden, 2 * config.latent])
        self.decoder = _mlp([config.latent, config.hidden, config.hidden, config.num_pixels])

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.config.num_pixels:
            raise ValueError(f"x must be (N, {self.config.num_pixels}) flattened images in [0, 1], "
                             f"got shape {tuple(x.shape)}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_x(x)
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits; ``torch.sigmoid`` of them is the mean image."""
        if z.shape[-1] != self.config.latent:
            raise ValueError(f"z must end in latent={self.config.latent}, got shape {tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits, μ, log σ²) for one reparameterised z ~ q(z | x) per image."""
        mu, log_var = self.encode(x)
        return self.decode(reparameterize(mu, log_var, generator=generator)), mu, log_var

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean images sigmoid(decode(z)) for z ~ N(0, I): ``sample(self, ...)``."""
        return sample(self, num_samples, generator=generator)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean images decoded from the posterior means μ(x): ``reconstruct(self, x)``."""
        return reconstruct(self, x)


def build(num_pixels: int = 64, hidden: int = 256, latent: int = 8) -> VAE:
    """``VAE(VAEConfig(num_pixels, hidden, latent))``: the signature of 02_vae's ``DigitVAE`` exercise,
    whose parameters have the same names (``encoder.0.weight``, …, ``decoder.4.bias``)."""
    return VAE(VAEConfig(num_pixels=num_pixels, hidden=hidden, latent=latent))


def _latent_size(model: nn.Module) -> int:
    config = getattr(model, "config", None)
    if config is not None:
        return config.latent
    return getattr(model, "latent", None) or next(m for m in model.decoder.modules()
                                                  if isinstance(m, nn.Linear)).in_features


@torch.no_grad()
def sample(model: nn.Module, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean images sigmoid(decode(z)) for z ~ N(0, I): (num_samples, pixels) in [0, 1].

    Any model with a ``decode`` (the library's ``VAE`` or a learner's); the codes are drawn on
    the generator's device and moved to the model's.
    """
    if int(num_samples) != num_samples or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
    p = next(model.parameters())
    z = _randn((int(num_samples), _latent_size(model)), p, generator)
    return torch.sigmoid(model.decode(z))


@torch.no_grad()
def reconstruct(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Mean images decoded from the posterior means μ(x) (any model with ``encode`` and ``decode``)."""
    return torch.sigmoid(model.decode(model.encode(x)[0]))


# --- evaluation and training --------------------------------------------------------------------

Posterior = tuple[torch.Tensor, torch.Tensor]


@torch.no_grad()
def iwae_bound(model: nn.Module, x: torch.Tensor, k: int, generator: torch.Generator | None = None,
               batch_size: int = 512, q: Posterior | None = None,
               bound: Callable[..., torch.Tensor] | None = None) -> torch.Tensor:
    """IWAE_k(x) per image, shape (N,), with k samples from the encoder (k = 1: the ELBO in expectation).

    ``q=(mu, log_var)`` samples from those Gaussians instead of the encoder's (e.g. ``refine_posterior``'s);
    ``bound`` replaces ``iwae_from_samples`` (02_vae passes the learner's).
    """
    bound = bound or iwae_from_samples
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    mus, log_vars = q if q is not None else model.encode(x)
    out = []
    for xb, mu, log_var in zip(x.split(batch_size), mus.split(batch_size), log_vars.split(batch_size)):
        z = reparameterize(mu, log_var, n_samples=int(k), generator=generator)
        out.append(bound(xb, model.decode(z), z, mu, log_var))
    return torch.cat(out)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, num_samples: int = 1, generator: torch.Generator | None = None,
             q: Posterior | None = None) -> dict[str, float]:
    """Mean over images of ``neg_elbo`` = ``distortion`` + ``rate`` in nats (β = 1).

    ``distortion`` = −E_q log p(x | z), averaged over ``num_samples`` draws of z per image;
    ``rate`` = KL(q(z | x) ‖ p(z)), in closed form. q is the encoder's, or ``q=(mu, log_var)``.
    """
    if int(num_samples) != num_samples or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
    model.eval()
    mu, log_var = q if q is not None else model.encode(x)
    z = reparameterize(mu, log_var, n_samples=int(num_samples), generator=generator)
    distortion = -bernoulli_log_lik(x, model.decode(z)).mean(0)
    rate = gaussian_kl(mu, log_var)
    return {"neg_elbo": (distortion + rate).mean().item(), "distortion": distortion.mean().item(),
            "rate": rate.mean().item()}


def refine_posterior(model: nn.Module, x: torch.Tensor, *, num_steps: int = 300, lr: float = 0.05,
                     num_samples: int = 8, generator: torch.Generator | None = None) -> Posterior:
    """Per-image Gaussians q_n = N(μ_n, diag σ_n²) fitted by maximising each image's ELBO (β = 1)
    with the decoder fixed, starting from the encoder's: the best the diagonal family can do,
    image by image (Cremer, Li & Duvenaud, 2018).

    ELBO(refined q) − ELBO(encoder's q) is then the **amortisation gap** (what the one-pass
    encoder gives away, including any effect of training with β ≠ 1), and
    log p(x) − ELBO(refined q) the **approximation gap** of the diagonal Gaussian family
    (bounded below by IWAE_k − ELBO(refined q)). Adam on (μ, log σ²), ``num_samples`` codes per
    image and step; returns detached (mu, log_var), each (N, latent).
    """
    if int(num_steps) != num_steps or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
    model.eval()
    with torch.no_grad():
        mu0, log_var0 = model.encode(x)
    mu, log_var = mu0.clone().requires_grad_(True), log_var0.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([mu, log_var], lr=lr)
    frozen = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(int(num_steps)):
            z = reparameterize(mu, log_var, n_samples=num_samples, generator=generator)
            loss = -(bernoulli_log_lik(x, model.decode(z)).mean(0) - gaussian_kl(mu, log_var)).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    finally:
        for p, flag in zip(model.parameters(), frozen):
            p.requires_grad_(flag)
    return mu.detach(), log_var.detach()


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, beta: float = 1.0,
               generator: torch.Generator | None = None) -> float:
    """One optimiser step on the batch mean of −ELBO_β; returns that loss (before the step) as a float.

    ``model(x, generator)`` gives (logits, μ, log σ²) for one reparameterised code per image:
    zero the gradients, compute the loss, backpropagate, step. 02_vae's learner writes the same
    function (``train_step``), and ``train_vae(step=...)`` runs whichever it is given.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    logits, mu, log_var = model(x, generator=generator)
    loss = -elbo(x, logits, mu, log_var, beta).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def vae_loss(model: VAE, batch: tuple[torch.Tensor, ...] | torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """−ELBO averaged over the batch: the loss ``genlab.train.fit`` minimises."""
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    logits, mu, log_var = model(x)
    return -elbo(x, logits, mu, log_var, beta).mean()


def train_vae(model: nn.Module, X_train: torch.Tensor, *, num_epochs: int, beta: float = 1.0, lr: float = 2e-3,
              batch_size: int = 64, X_val: torch.Tensor | None = None, time_budget: float | None = None,
              seed: int = 0, progress: bool = True, live_plot: list[str] | None = None,
              step: StepFn | None = None) -> History:
    """Train on the (β-)negative ELBO with ``step`` (default ``train_step``); records ``val_neg_elbo``
    if X_val is given.

    The loop of ``genlab.train.fit`` with the optimiser step handed to ``step(model, optimizer,
    x, beta)``, so that a learner's training step (02_vae) drives it: shuffled minibatches
    (seeded), Adam, the learning rate of every step set by the course's schedule
    (``warmup_cosine``: no warmup, a half cosine from ``lr`` down to 10 % of it over the
    ``num_epochs``), a tqdm bar and an optional live plot. Validation always uses β = 1, the true
    bound. ``time_budget`` only guards the run (it warns when it cuts training short).
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if X_train.ndim != 2:
        raise ValueError(f"X_train must be (N, pixels), got shape {tuple(X_train.shape)}")
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    step = step or train_step
    torch.manual_seed(seed)   # the reparameterisation noise comes from torch's global generator
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = as_loader((X_train,), batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    val_gen = torch.Generator().manual_seed(seed + 1)
    budget, history = Budget(time_budget), History()
    plot = train_lib._LivePlot(live_plot) if live_plot else None
    bar = train_lib.tqdm(range(1, num_epochs + 1), desc="training", unit="epoch", disable=not progress)
    done, total_steps = 0, num_epochs * len(loader)
    for epoch in bar:
        total, count = 0.0, 0
        for (xb,) in loader:
            train_lib.set_lr(optimizer, lr * warmup_cosine(done / total_steps))
            loss = float(step(model, optimizer, xb.to(device), beta))
            if not math.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at epoch {epoch}; try a smaller lr or check the loss")
            done, total, count = done + 1, total + loss, count + 1
            if budget.spent:
                break
        record = {"epoch": epoch, "train_loss": total / max(count, 1)}
        if X_val is not None:
            record["val_neg_elbo"] = evaluate(model, X_val.to(device), generator=val_gen)["neg_elbo"]
        record["time"] = budget.elapsed
        history.records.append(record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch", "time")})
        if plot:
            plot.update(history)
        if budget.spent and (epoch < num_epochs or count < len(loader)):
            history.stopped_by_budget = True
            warnings.warn(guard_message("training", epoch, num_epochs, time_budget) + " (epochs)",
                          RuntimeWarning, stacklevel=2)
            break
    bar.close()
    if plot:
        plot.close()
    history.seconds = budget.elapsed
    model.eval()
    return history
