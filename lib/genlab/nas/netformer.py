"""Generating architectures with a Transformer VAE over token sequences. Introduced in 08_netformer.

An architecture is written as a sequence of tokens, like a sentence, and a variational
autoencoder learns a continuous code for it (in the spirit of arch2vec, Yan et al. 2020, and
D-VAE, Zhang et al. 2019): search then happens in that smooth latent space instead of the
discrete one.

- **Tokens.** ``Vocab`` adds ``<pad>``, ``<bos>``, ``<eos>`` to a space's tokens; ``tokenize``
  writes ``<bos> t_1 … t_n <eos> <pad> …`` of a fixed length. A NAS-Bench-201 cell is its 6 ops
  in edge order (the position says which edge, so no edge tokens are needed).
- **The model.** ``NetformerVAE``: a bidirectional Transformer encoder → (μ, log σ²), and a
  causal Transformer decoder that sees z at every position and is trained teacher-forced. The
  blocks are 03's (``genlab.generative.gpt``), the Gaussian pieces 02's
  (``genlab.generative.vae``). ``sequence_vae_loss`` = token cross-entropy (PAD masked) + β·KL.
- **Using the code.** ``reconstruction_accuracy`` (greedy decoding from μ, whole-sequence
  exact match), ``interpolate``, ``GPPredictor`` (a Gaussian process on μ) and ``LatentSearch``,
  a ``search.Strategy`` that proposes cells by decoding latents near the best ones it was told.
- **A space where validity is not automatic.** ``LayerSpace``: plain CNNs for 8×8 digits as
  sequences of layer tokens (``conv3-16``, ``pool``, …) whose shapes, depth and parameter count
  must stay within limits; ``LayerSpace.violations`` says why a sequence is invalid, and
  ``sample_quality`` measures validity, uniqueness and novelty of generated sequences.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..generative import gpt
from ..generative.vae import gaussian_kl, reparameterize
from ..runtime import one_thread
from ..train import History, fit
from .search import ModelBasedStrategy
from .space import OPS, Cell, Ops, random_cell, to_ops

# ---------------------------------------------------------------- tokens

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


@dataclass(frozen=True)
class Vocab:
    """The special tokens (ids 0, 1, 2 = PAD, BOS, EOS) followed by a space's own tokens."""

    tokens: tuple[str, ...]

    def __post_init__(self):
        if not self.tokens or len(set(self.tokens)) != len(self.tokens):
            raise ValueError(f"a vocabulary needs distinct tokens, got {self.tokens!r}")
        if set(self.tokens) & set(SPECIALS):
            raise ValueError(f"{SPECIALS} are added by Vocab; do not list them in tokens")

    @property
    def itos(self) -> tuple[str, ...]:
        return SPECIALS + tuple(self.tokens)

    @property
    def stoi(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)


def tokenize(tokens: Sequence[str], vocab: Vocab, max_len: int) -> list[int]:
    """``[BOS, id(t_1), …, id(t_n), EOS, PAD, …]``, exactly ``max_len`` ids long.

    Raises ``ValueError`` for a token not in ``vocab`` or a sequence that does not fit
    (n + 2 > max_len: BOS and EOS need room too).
    """
    stoi = vocab.stoi
    unknown = [t for t in tokens if t not in stoi or t in SPECIALS]
    if unknown:
        raise ValueError(f"unknown token(s) {unknown!r}; the vocabulary is {vocab.tokens}")
    if len(tokens) + 2 > max_len:
        raise ValueError(f"{len(tokens)} tokens + BOS + EOS do not fit in max_len={max_len}")
    ids = [BOS_ID] + [stoi[t] for t in tokens] + [EOS_ID]
    return ids + [PAD_ID] * (max_len - len(ids))


def detokenize(ids: Sequence[int], vocab: Vocab) -> tuple[str, ...]:
    """The tokens between a leading BOS and the first EOS (or the end).

    Decoded samples can be malformed; specials in the middle come back by name
    (``'<pad>'``), so a validity check rejects them rather than this function.
    """
    ids = [int(i) for i in ids]
    if ids and ids[0] == BOS_ID:
        ids = ids[1:]
    if EOS_ID in ids:
        ids = ids[:ids.index(EOS_ID)]
    itos = vocab.itos
    if any(not 0 <= i < len(itos) for i in ids):
        raise ValueError(f"ids must lie in [0, {len(itos)}), got {ids}")
    return tuple(itos[i] for i in ids)


NB201_VOCAB = Vocab(OPS)
NB201_MAX_LEN = 8          # BOS + 6 ops + EOS


def encode_cells(cells: Sequence[Cell]) -> torch.Tensor:
    """NAS-Bench-201 cells (any encoding) as a (N, 8) tensor of token ids."""
    return torch.tensor([tokenize(to_ops(c), NB201_VOCAB, NB201_MAX_LEN) for c in cells], dtype=torch.long)


def decode_cells(ids: torch.Tensor) -> list[Ops | None]:
    """Rows of token ids back to cells; ``None`` where a row is not 6 ops then EOS."""
    out: list[Ops | None] = []
    for row in ids.tolist():
        tokens = detokenize(row, NB201_VOCAB)
        out.append(tokens if len(tokens) == 6 and all(t in OPS for t in tokens) else None)
    return out


# ---------------------------------------------------------------- the loss

def token_nll(logits: torch.Tensor, targets: torch.Tensor, pad_id: int = PAD_ID) -> torch.Tensor:
    """−log p(sequence | z) per sequence, shape (N,): token cross-entropies summed over non-PAD targets.

    ``logits``: (N, T, V), the decoder's prediction of ``targets`` (N, T) (the input ids
    shifted left by one: the decoder predicts t_{i+1} from t_1..t_i, EOS included).
    """
    if logits.ndim != 3 or logits.shape[:2] != targets.shape:
        raise ValueError(f"logits must be (N, T, V) with targets (N, T), got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")   # (N, T)
    return (ce * (targets != pad_id)).sum(1)


def sequence_vae_loss(logits: torch.Tensor, targets: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                      beta: float = 1.0, pad_id: int = PAD_ID) -> torch.Tensor:
    """The batch mean of −ELBO_β = token NLL (PAD masked, summed per sequence) + β · KL(q(z|x) ‖ N(0, I))."""
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if mu.shape[0] != logits.shape[0]:
        raise ValueError(f"mu has {mu.shape[0]} rows but logits {logits.shape[0]}")
    return (token_nll(logits, targets, pad_id) + beta * gaussian_kl(mu, log_var)).mean()


# ---------------------------------------------------------------- the model

@dataclass
class NetformerConfig:
    """Sizes of the Transformer VAE (the defaults are 08's: 61k parameters for NB-201 cells)."""

    vocab_size: int
    max_len: int            # BOS + tokens + EOS (+ PAD)
    n_layer: int = 2        # per side: encoder and decoder
    n_head: int = 4
    n_embd: int = 32
    latent: int = 16

    def __post_init__(self):
        for name in ("vocab_size", "max_len", "n_layer", "n_head", "n_embd", "latent"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")

    @property
    def blocks(self) -> gpt.GPTConfig:
        return gpt.GPTConfig(vocab_size=self.vocab_size, block_size=self.max_len, n_layer=self.n_layer,
                             n_head=self.n_head, n_embd=self.n_embd)


class SelfAttention(gpt.CausalSelfAttention):
    """03's attention without the causal mask: every token sees every non-PAD token."""

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
        return self.out_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class EncoderBlock(gpt.Block):
    """03's pre-norm block with bidirectional, PAD-masked attention."""

    def __init__(self, config: gpt.GPTConfig):
        super().__init__(config)
        self.attn = SelfAttention(config)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), keep)
        return x + self.mlp(self.ln2(x))


class NetformerVAE(nn.Module):
    """Encoder: embeddings → bidirectional blocks → all max_len outputs side by side (zeros at
    PAD) → linear → (μ, log σ²). Decoder: embeddings + W·z at every position → causal blocks
    (03's) → logits.

    PyTorch's default initialisation, not GPT-2's N(0, 0.02): with such small weights the
    code z starts far below the reparameterisation noise and the decoder learns to ignore it.
    """

    def __init__(self, config: NetformerConfig):
        super().__init__()
        self.config = c = config
        self.enc_tok, self.enc_pos = nn.Embedding(c.vocab_size, c.n_embd), nn.Embedding(c.max_len, c.n_embd)
        self.enc_blocks = nn.ModuleList(EncoderBlock(c.blocks) for _ in range(c.n_layer))
        self.enc_ln = nn.LayerNorm(c.n_embd)
        self.to_latent = nn.Linear(c.max_len * c.n_embd, 2 * c.latent)
        self.dec_tok, self.dec_pos = nn.Embedding(c.vocab_size, c.n_embd), nn.Embedding(c.max_len, c.n_embd)
        self.from_latent = nn.Linear(c.latent, c.n_embd)
        self.dec_blocks = nn.ModuleList(gpt.Block(c.blocks) for _ in range(c.n_layer))
        self.dec_ln = nn.LayerNorm(c.n_embd)
        self.head = nn.Linear(c.n_embd, c.vocab_size)

    def _check(self, ids: torch.Tensor) -> None:
        if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2:
            raise ValueError(f"ids must be a (N, T) int64 tensor, got {getattr(ids, 'dtype', type(ids).__name__)} "
                             f"of shape {tuple(getattr(ids, 'shape', ()))}")
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"sequences of length {ids.shape[1]} exceed max_len={self.config.max_len}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.config.vocab_size})")

    def encode(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z | sequence), each (N, latent)."""
        self._check(ids)
        keep = ids != PAD_ID
        x = self.enc_tok(ids) + self.enc_pos(torch.arange(ids.shape[1], device=ids.device))
        for block in self.enc_blocks:
            x = block(x, keep)
        x = self.enc_ln(x) * keep.unsqueeze(-1)                              # PAD positions say nothing
        x = F.pad(x, (0, 0, 0, self.config.max_len - ids.shape[1]))          # every summary is max_len long
        mu, log_var = self.to_latent(x.flatten(1)).chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits (N, T, V) for every prefix of ``ids`` (teacher forcing), given z."""
        self._check(ids)
        if z.ndim != 2 or z.shape != (ids.shape[0], self.config.latent):
            raise ValueError(f"z must be ({ids.shape[0]}, {self.config.latent}), got {tuple(z.shape)}")
        x = self.dec_tok(ids) + self.dec_pos(torch.arange(ids.shape[1], device=ids.device))
        x = x + self.from_latent(z).unsqueeze(1)
        for block in self.dec_blocks:
            x = block(x)
        return self.head(self.dec_ln(x))

    def forward(self, ids: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits for ids[:, 1:], μ, log σ²) with one reparameterised z per sequence."""
        mu, log_var = self.encode(ids)
        z = reparameterize(mu, log_var, generator=generator)
        return self.decode(z, ids[:, :-1]), mu, log_var

    @torch.no_grad()
    def generate(self, z: torch.Tensor, temperature: float = 0.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode codes z (N, latent) to (N, max_len) ids: BOS, then one token at a time.

        ``temperature=0`` is greedy (arg-max); otherwise tokens are sampled from
        ``gpt.next_token_probs``. Everything after a sequence's first EOS is set to PAD.
        """
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        ids = torch.full((z.shape[0], 1), BOS_ID, dtype=torch.long, device=z.device)
        for _ in range(self.config.max_len - 1):
            logits = self.decode(z, ids)[:, -1]
            if temperature == 0:
                nxt = logits.argmax(-1, keepdim=True)
            else:
                nxt = torch.multinomial(gpt.next_token_probs(logits, temperature), 1, generator=generator)
            ids = torch.cat([ids, nxt], dim=1)
        after_eos = (ids == EOS_ID).long().cumsum(1) - (ids == EOS_ID).long() > 0
        return ids.masked_fill(after_eos, PAD_ID)

    @torch.no_grad()
    def sample(self, num_samples: int, temperature: float = 0.0, prior_std: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``num_samples`` codes z ~ N(0, prior_std² I).

        ``prior_std`` < 1 samples the denser middle of the prior (Glow's "temperature",
        BigGAN's truncation): fewer codes land in holes the encoder never used.
        """
        if int(num_samples) != num_samples or num_samples < 1 or prior_std <= 0:
            raise ValueError(f"need num_samples >= 1 and prior_std > 0, got {num_samples!r}, {prior_std!r}")
        z = prior_std * torch.randn(int(num_samples), self.config.latent, generator=generator)
        return self.generate(z.to(next(self.parameters()).device), temperature, generator)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ---------------------------------------------------------------- training and evaluation

def train_netformer(model: NetformerVAE, ids: torch.Tensor, *, num_epochs: int, beta: float = 0.05,
                    kl_warmup: float = 0.3, lr: float = 3e-3, batch_size: int = 32,
                    val_ids: torch.Tensor | None = None, eval_fn: Callable[[nn.Module], dict] | None = None,
                    time_budget: float | None = None, seed: int = 0, progress: bool = True,
                    live_plot: list[str] | None = None) -> History:
    """Minimise ``sequence_vae_loss`` with AdamW through ``genlab.train.fit``, on one thread.

    The learning rate decays linearly to 10 % over the epochs. β < 1 on purpose, and it rises
    from 0 over the first ``kl_warmup`` of the steps (KL annealing, Bowman et al. 2016): an
    autoregressive decoder can model uniformly random cells without z at all (posterior
    collapse), and starting with a free code lets the decoder learn to read z first (08, section 5).
    With ``val_ids`` each epoch records ``val_recon`` (``reconstruction_accuracy``), and
    whatever ``eval_fn(model)`` returns (e.g. the validity of a few prior samples).
    """
    if beta < 0 or not 0 <= kl_warmup <= 1:
        raise ValueError(f"need beta >= 0 and kl_warmup in [0, 1], got {beta}, {kl_warmup}")
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    total = num_epochs * math.ceil(len(ids) / batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 - 0.9 * min(t, total) / total)

    step = [0]

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if optimizer.state:   # fit has no scheduler hook: decay once per batch, after the first step
            sched.step()
        step[0] += 1
        warm = min(1.0, step[0] / (kl_warmup * total)) if kl_warmup > 0 else 1.0
        logits, mu, log_var = m(batch[0])
        return sequence_vae_loss(logits, batch[0][:, 1:], mu, log_var, beta * warm)

    def evaluate(m: nn.Module) -> dict:
        out = {"val_recon": reconstruction_accuracy(m, val_ids)} if val_ids is not None else {}
        return out | (eval_fn(m) if eval_fn is not None else {})

    with one_thread():
        return fit(model, loss_fn, (ids,), num_epochs=num_epochs, lr=lr, batch_size=batch_size,
                   optimizer=optimizer, eval_fn=evaluate if val_ids is not None or eval_fn else None,
                   time_budget=time_budget, seed=seed, progress=progress, live_plot=live_plot)


@torch.no_grad()
def encode_mu(model: NetformerVAE, ids: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Posterior means μ for many sequences (the latent "embedding" of each architecture)."""
    model.eval()
    return torch.cat([model.encode(b)[0] for b in ids.split(batch_size)])


@torch.no_grad()
def reconstruct(model: NetformerVAE, ids: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Greedy decoding of μ(sequence): the model's best guess of each input."""
    model.eval()
    return torch.cat([model.generate(model.encode(b)[0]) for b in ids.split(batch_size)])


def reconstruction_accuracy(model: NetformerVAE, ids: torch.Tensor) -> float:
    """Share of sequences rebuilt exactly (every token up to EOS, and EOS itself) from μ."""
    if len(ids) == 0:
        raise ValueError("need at least one sequence")
    return float((reconstruct(model, ids) == ids).all(1).float().mean())


@torch.no_grad()
def interpolate(model: NetformerVAE, ids_a: torch.Tensor, ids_b: torch.Tensor, steps: int = 7) -> torch.Tensor:
    """Decode ``steps`` evenly spaced points on the segment from μ(a) to μ(b): (steps, max_len)."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (the two ends), got {steps}")
    model.eval()
    mu = model.encode(torch.stack([ids_a, ids_b]))[0]
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return model.generate((1 - t) * mu[0] + t * mu[1])


# ---------------------------------------------------------------- predicting performance from z

class GPPredictor:
    """A Gaussian process regressor on latent codes, small enough to read (and fit in milliseconds).

    Prior f ~ GP(0, k) on standardised targets with k(z, z') = exp(−‖z − z'‖² / 2ℓ²), and
    Gaussian noise of variance σ_n². ℓ (relative to the median distance between training codes)
    and σ_n² are chosen from a small grid by the log marginal likelihood; the posterior mean and
    standard deviation are the textbook formulas (Rasmussen & Williams, algorithm 2.1).
    """

    SCALES = (0.25, 0.5, 1.0, 2.0)      # ℓ / median distance
    NOISES = (0.01, 0.1, 0.3)           # σ_n², in units of the targets' variance

    def __init__(self):
        self.Z = None

    @staticmethod
    def _sq_dists(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return np.maximum((A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * A @ B.T, 0.0)

    def fit(self, Z: np.ndarray, y: np.ndarray) -> "GPPredictor":
        Z, y = np.asarray(Z, dtype=float), np.asarray(y, dtype=float)
        if Z.ndim != 2 or y.ndim != 1 or len(Z) != len(y) or len(y) < 2:
            raise ValueError(f"need Z (n, d) and y (n,) with n >= 2, got {Z.shape} and {y.shape}")
        self.y_mean, self.y_std = y.mean(), y.std() + 1e-12
        t = (y - self.y_mean) / self.y_std
        D = self._sq_dists(Z, Z)
        median = np.sqrt(np.median(D[np.triu_indices(len(Z), 1)])) + 1e-12
        best = -np.inf
        for scale in self.SCALES:
            K = np.exp(-D / (2 * (scale * median) ** 2))
            for noise in self.NOISES:
                L = np.linalg.cholesky(K + noise * np.eye(len(Z)))
                alpha = np.linalg.solve(L.T, np.linalg.solve(L, t))
                log_ml = -0.5 * t @ alpha - np.log(np.diag(L)).sum()
                if log_ml > best:
                    best, self.length, self.noise, self.L, self.alpha = log_ml, scale * median, noise, L, alpha
        self.Z = Z
        return self

    def predict(self, Z: np.ndarray, return_std: bool = False):
        """Posterior mean (and standard deviation of f) at codes ``Z``, in the targets' units."""
        if self.Z is None:
            raise ValueError("fit the predictor first")
        Ks = np.exp(-self._sq_dists(np.asarray(Z, dtype=float), self.Z) / (2 * self.length ** 2))
        mean = self.y_mean + self.y_std * Ks @ self.alpha
        if not return_std:
            return mean
        v = np.linalg.solve(self.L, Ks.T)
        return mean, self.y_std * np.sqrt(np.maximum(1.0 - (v ** 2).sum(0), 1e-12))


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """E[max(f − best, 0)] for f ~ N(mean, std²): BO's classic acquisition function."""
    from scipy.stats import norm

    std = np.maximum(std, 1e-9)
    u = (mean - best) / std
    return (mean - best) * norm.cdf(u) + std * norm.pdf(u)


class LatentSearch(ModelBasedStrategy):
    """Bayesian optimisation in the VAE's latent space, behind 06's ``propose / tell / best``.

    The first ``num_init`` cells are random. Then, whenever its queue is empty, it fits a
    ``GPPredictor`` on μ of every cell it was told, draws ``num_candidates`` latents — the μ of
    its ``top_k`` best cells plus Gaussian noise of scale ``sigma`` — decodes them greedily to
    cells, drops malformed and already queried ones, and queues the ``batch_size`` with the
    highest expected improvement (EI) under the GP.
    """

    name = "latent BO"

    def __init__(self, model: NetformerVAE, num_init: int = 10, batch_size: int = 5, num_candidates: int = 200,
                 top_k: int = 5, sigma: float = 2.5, seed: int = 0):
        super().__init__(num_init, seed)
        if model.config.max_len != NB201_MAX_LEN or model.config.vocab_size != len(NB201_VOCAB):
            raise ValueError("LatentSearch needs a NetformerVAE trained on NAS-Bench-201 cells")
        if num_init < 2 or batch_size < 1 or num_candidates < batch_size or top_k < 1 or sigma <= 0:
            raise ValueError("need num_init >= 2, num_candidates >= batch_size >= 1, top_k >= 1, sigma > 0")
        self.model, self.batch_size = model, batch_size
        self.num_candidates, self.top_k, self.sigma = num_candidates, top_k, sigma
        self.gen = torch.Generator().manual_seed(seed)
        self.model.eval()
        self._mu: dict[Ops, np.ndarray] = {}

    def _embed(self, cells: list[Ops]) -> np.ndarray:
        new = [c for c in cells if c not in self._mu]
        if new:
            for c, m in zip(new, encode_mu(self.model, encode_cells(new)).double().numpy()):
                self._mu[c] = m
        return np.stack([self._mu[c] for c in cells])

    def _refill(self) -> None:
        cells = [c for c, _ in self.history]
        y = np.array([s for _, s in self.history])
        Z = self._embed(cells)
        gp = GPPredictor().fit(Z, y)
        top = torch.tensor(Z[np.argsort(-y)[: self.top_k]], dtype=torch.float32)
        parents = top[torch.randint(len(top), (self.num_candidates,), generator=self.gen)]
        z = parents + self.sigma * torch.randn(parents.shape, generator=self.gen)
        seen = set(cells)
        cands = list(dict.fromkeys(c for c in decode_cells(self.model.generate(z)) if c is not None and c not in seen))
        while len(cands) < self.batch_size:      # the decoder only found cells already queried: explore
            cell = random_cell(self.rng)
            if cell not in seen and cell not in cands:
                cands.append(cell)
        mean, std = gp.predict(self._embed(cands), return_std=True)
        ei = expected_improvement(mean, std, float(y.max()))
        self.queue = [cands[i] for i in np.argsort(-ei)[: self.batch_size]]


# ---------------------------------------------------------------- a space where validity is not automatic

_LAYER = re.compile(r"^conv(\d+)-(\d+)$")


def parse_layer(token: str) -> tuple[str, int, int | None]:
    """``'conv3-16'`` → ``('conv', 3, 16)``; ``'pool'`` → ``('pool', 2, None)``; else ``ValueError``."""
    if token == "pool":
        return ("pool", 2, None)
    m = _LAYER.match(token) if isinstance(token, str) else None
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"unknown layer {token!r}: expected 'conv<k>-<channels>' or 'pool'")
    return ("conv", int(m.group(1)), int(m.group(2)))


LAYER_TOKENS = tuple(f"conv{k}-{c}" for k in (1, 3, 5) for c in (8, 16, 32)) + ("pool",)


@dataclass(frozen=True)
class LayerSpace:
    """Plain CNNs for ``input_size``² images as sequences of layer tokens (08's constrained space).

    ``conv<k>-<c>``: a k×k convolution *without padding* (stride 1, bias, ReLU) to c channels,
    so the side shrinks by k − 1 and needs side ≥ k. ``pool``: 2×2 max-pooling, stride 2, side
    → side // 2, needs side ≥ 2. Then global average pooling and a linear layer to the classes.
    A sequence is valid when its tokens are known, ``min_depth ≤ length ≤ max_depth``, every
    layer fits the shape it receives, and the parameters (convs + head) are ≤ ``max_params``.
    """

    tokens: tuple[str, ...] = LAYER_TOKENS
    input_size: int = 8
    in_channels: int = 1
    num_classes: int = 10
    min_depth: int = 2
    max_depth: int = 8
    max_params: int = 20_000

    def __post_init__(self):
        for t in self.tokens:
            parse_layer(t)
        if not 1 <= self.min_depth <= self.max_depth:
            raise ValueError(f"need 1 <= min_depth <= max_depth, got {self.min_depth}, {self.max_depth}")

    @property
    def vocab(self) -> Vocab:
        return Vocab(self.tokens)

    @property
    def max_len(self) -> int:
        return self.max_depth + 2

    def trace(self, layers: Sequence[str]) -> list[tuple[int, int, int]]:
        """(channels, side, parameters) after each layer, until the first one that does not fit."""
        c, s, out = self.in_channels, self.input_size, []
        for t in layers:
            kind, k, c_out = parse_layer(t)
            if s < k:
                break
            if kind == "pool":
                s, p = s // 2, 0
            else:
                s, p = s - k + 1, k * k * c * c_out + c_out
                c = c_out
            out.append((c, s, p))
        return out

    def count_params(self, layers: Sequence[str]) -> int:
        """Parameters of the built network: convolutions and the linear head (weights and biases)."""
        trace = self.trace(layers)
        if len(trace) < len(layers):
            raise ValueError(f"{list(layers)} does not fit a {self.input_size}×{self.input_size} input")
        c = trace[-1][0] if trace else self.in_channels
        return sum(p for _, _, p in trace) + c * self.num_classes + self.num_classes

    def violations(self, layers: Sequence[str]) -> list[str]:
        """Why ``layers`` is not a valid network (an empty list when it is)."""
        reasons = []
        unknown = [t for t in layers if t not in self.tokens]
        if unknown:
            return [f"unknown token(s) {unknown}"]
        if not self.min_depth <= len(layers) <= self.max_depth:
            reasons.append(f"depth {len(layers)} outside [{self.min_depth}, {self.max_depth}]")
        trace = self.trace(layers)
        if len(trace) < len(layers):
            side = trace[-1][1] if trace else self.input_size
            reasons.append(f"layer {len(trace) + 1} ({layers[len(trace)]}) needs a larger input than {side}×{side}")
        elif self.count_params(layers) > self.max_params:
            reasons.append(f"{self.count_params(layers):,} parameters > {self.max_params:,}")
        return reasons

    def is_valid(self, layers: Sequence[str]) -> bool:
        return not self.violations(layers)

    def build(self, layers: Sequence[str]) -> nn.Sequential:
        """The PyTorch network of a valid sequence (``ValueError`` with the reasons otherwise)."""
        reasons = self.violations(layers)
        if reasons:
            raise ValueError(f"invalid network {list(layers)}: " + "; ".join(reasons))
        mods: list[nn.Module] = []
        c = self.in_channels
        for t in layers:
            kind, k, c_out = parse_layer(t)
            if kind == "pool":
                mods.append(nn.MaxPool2d(2))
            else:
                mods += [nn.Conv2d(c, c_out, k), nn.ReLU()]
                c = c_out
        mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, self.num_classes)]
        return nn.Sequential(*mods)

    def random_sequence(self, rng: random.Random) -> tuple[str, ...]:
        """The baseline generator: a uniform length in [min_depth, max_depth], uniform tokens."""
        return tuple(rng.choice(self.tokens) for _ in range(rng.randint(self.min_depth, self.max_depth)))

    def random_valid(self, rng: random.Random, max_tries: int = 10_000) -> tuple[str, ...]:
        """A valid sequence of a uniform random depth, its tokens by rejection sampling.

        (Rejection from ``random_sequence`` itself would make deep networks rare: few random
        deep sequences fit an 8×8 input.)
        """
        depth = rng.randint(self.min_depth, self.max_depth)
        for _ in range(max_tries):
            layers = tuple(rng.choice(self.tokens) for _ in range(depth))
            if self.is_valid(layers):
                return layers
        raise ValueError(f"no valid sequence of depth {depth} in {max_tries} tries: are the limits satisfiable?")

    def encode(self, nets: Sequence[Sequence[str]]) -> torch.Tensor:
        """Sequences of layer tokens as a (N, max_len) tensor of ids."""
        return torch.tensor([tokenize(n, self.vocab, self.max_len) for n in nets], dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> list[tuple[str, ...]]:
        return [detokenize(row, self.vocab) for row in ids.tolist()]


def sample_quality(samples: Sequence[Sequence[str]], train: Sequence[Sequence[str]],
                   is_valid) -> dict[str, float]:
    """Validity, uniqueness and novelty of generated sequences (GraphVAE / D-VAE's three numbers).

    ``valid``: share of samples that are valid; ``unique``: distinct valid samples / valid
    samples; ``novel``: share of the distinct valid samples that are not in ``train``.
    """
    if not samples:
        raise ValueError("need at least one sample")
    valid = [tuple(s) for s in samples if is_valid(s)]
    distinct = set(valid)
    seen = {tuple(t) for t in train}
    return {"valid": len(valid) / len(samples),
            "unique": len(distinct) / len(valid) if valid else 0.0,
            "novel": len(distinct - seen) / len(distinct) if distinct else 0.0}


__all__ = ["PAD", "BOS", "EOS", "PAD_ID", "BOS_ID", "EOS_ID", "Vocab", "tokenize", "detokenize", "NB201_VOCAB",
           "NB201_MAX_LEN", "encode_cells", "decode_cells", "token_nll", "sequence_vae_loss", "NetformerConfig",
           "NetformerVAE", "train_netformer", "encode_mu", "reconstruct", "reconstruction_accuracy", "interpolate",
           "GPPredictor", "expected_improvement", "LatentSearch", "parse_layer", "LAYER_TOKENS", "LayerSpace",
           "sample_quality"]
