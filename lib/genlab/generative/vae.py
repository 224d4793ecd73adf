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
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..inference import vi
from ..train import History, fit, warmup_cosine


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

    ``genlab.inference.reparameterize`` of 01_foundations with log σ = ½ log_var;
    ``n_samples=k`` returns ``(k, *mu.shape)``.
    """
    _check_mu_log_var(mu, log_var)
    return vi.reparameterize(mu, 0.5 * log_var, n_samples=n_samples, generator=generator)


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

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean images sigmoid(decode(z)) for z ~ N(0, I): (num_samples, pixels) in [0, 1]."""
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
        p = next(self.parameters())
        z = torch.randn(int(num_samples), self.config.latent, generator=generator, dtype=p.dtype)
        return torch.sigmoid(self.decode(z.to(p.device)))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean images decoded from the posterior means μ(x)."""
        return torch.sigmoid(self.decode(self.encode(x)[0]))


# --- evaluation and training --------------------------------------------------------------------

@torch.no_grad()
def iwae_bound(model: VAE, x: torch.Tensor, k: int, generator: torch.Generator | None = None,
               batch_size: int = 512) -> torch.Tensor:
    """IWAE_k(x) per image, shape (N,), with k samples from the encoder (k = 1: the ELBO in expectation)."""
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    out = []
    for xb in x.split(batch_size):
        mu, log_var = model.encode(xb)
        z = reparameterize(mu, log_var, n_samples=int(k), generator=generator)
        out.append(iwae_from_samples(xb, model.decode(z), z, mu, log_var))
    return torch.cat(out)


@torch.no_grad()
def evaluate(model: VAE, x: torch.Tensor, num_samples: int = 1, generator: torch.Generator | None = None
             ) -> dict[str, float]:
    """Mean over images of ``neg_elbo`` = ``distortion`` + ``rate`` in nats (β = 1).

    ``distortion`` = −E_q log p(x | z), averaged over ``num_samples`` draws of z per image;
    ``rate`` = KL(q(z | x) ‖ p(z)), in closed form.
    """
    if int(num_samples) != num_samples or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
    model.eval()
    mu, log_var = model.encode(x)
    z = reparameterize(mu, log_var, n_samples=int(num_samples), generator=generator)
    distortion = -bernoulli_log_lik(x, model.decode(z)).mean(0)
    rate = gaussian_kl(mu, log_var)
    return {"neg_elbo": (distortion + rate).mean().item(), "distortion": distortion.mean().item(),
            "rate": rate.mean().item()}


def vae_loss(model: VAE, batch: tuple[torch.Tensor, ...] | torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """−ELBO averaged over the batch: the loss ``genlab.train.fit`` minimises."""
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    logits, mu, log_var = model(x)
    return -elbo(x, logits, mu, log_var, beta).mean()


def train_vae(model: VAE, X_train: torch.Tensor, *, num_epochs: int, beta: float = 1.0, lr: float = 2e-3,
              batch_size: int = 64, X_val: torch.Tensor | None = None, time_budget: float | None = None,
              seed: int = 0, progress: bool = True, live_plot: list[str] | None = None) -> History:
    """Train with ``genlab.train.fit`` on the (β-)negative ELBO; records ``val_neg_elbo`` if X_val is given.

    Adam, with the learning rate of every step set by the course's schedule
    (``lr_schedule=warmup_cosine``: no warmup, a half cosine from ``lr`` down to 10 % of it over
    the ``num_epochs``), so the last epochs refine with small steps. Validation always uses
    β = 1, the true bound. ``time_budget`` only guards the run (see ``fit``).
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if X_train.ndim != 2:
        raise ValueError(f"X_train must be (N, pixels), got shape {tuple(X_train.shape)}")
    torch.manual_seed(seed)   # the reparameterisation noise comes from torch's global generator
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    eval_fn = None
    if X_val is not None:
        val_gen = torch.Generator().manual_seed(seed + 1)
        eval_fn = lambda m: {"val_neg_elbo": evaluate(m, X_val, generator=val_gen)["neg_elbo"]}  # noqa: E731
    return fit(model, lambda m, batch: vae_loss(m, batch, beta), (X_train,), num_epochs=num_epochs, lr=lr,
               batch_size=batch_size, optimizer=optimizer, lr_schedule=warmup_cosine, eval_fn=eval_fn,
               time_budget=time_budget, seed=seed, progress=progress, live_plot=live_plot)
