"""A Transformer VAE over architecture token sequences. Introduced in 08_netformer.

An architecture is written as a sequence of tokens, like a sentence, and a variational
autoencoder learns a continuous code for it (in the spirit of arch2vec, Yan et al. 2020, and
D-VAE, Zhang et al. 2019): search then happens in that smooth latent space instead of the
discrete one.

- **Tokens.** ``Vocab`` adds ``<pad>``, ``<bos>``, ``<eos>`` to a space's tokens; ``tokenize``
  writes ``<bos> t_1 … t_n <eos> <pad> …`` of a fixed length. A NAS-Bench-201 cell is its 6 ops
  in edge order (the position says which edge, so no edge tokens are needed).
- **The loss.** ``sequence_vae_loss`` = token cross-entropy (PAD masked, summed per sequence) + β·KL.
- **The model.** ``NetformerVAE``: a bidirectional Transformer encoder → (μ, log σ²), and a
  causal Transformer decoder that sees z at every position and is trained teacher-forced. The
  blocks are the library's one Transformer block (03's, ``genlab.nn.transformer.Block``; the
  encoder's with ``causal=False`` and a PAD mask), the Gaussian pieces 02's (``genlab.generative.vae``).
- **Training and evaluation.** ``train_netformer`` (through ``genlab.train.fit``, with the course's
  lr schedule and KL annealing as an ``on_step`` hook, ``KLAnnealing``), ``reconstruction_accuracy``
  (greedy decoding from μ, whole-sequence exact match), ``encode_mu`` and ``interpolate``.

What 08 does with the code lives next door: ``latent_bo`` (a Gaussian process on μ and Bayesian
optimisation in the latent space) and ``layer_space`` (a space of plain CNNs where a generated
sequence can be invalid).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..generative import gpt
from ..generative.vae import gaussian_kl, reparameterize
from ..nn.transformer import Block
from ..train import History, fit, warmup_cosine
from .space import OPS, Cell, Ops, to_ops

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


class NetformerVAE(nn.Module):
    """Encoder: embeddings → bidirectional, PAD-masked blocks → all max_len outputs side by side
    (zeros at PAD) → linear → (μ, log σ²). Decoder: embeddings + W·z at every position → causal
    blocks → logits. Both are the library's one block (03's, ``genlab.nn.transformer.Block``).

    PyTorch's default initialisation, not GPT-2's N(0, 0.02): with such small weights the
    code z starts far below the reparameterisation noise and the decoder learns to ignore it.
    """

    def __init__(self, config: NetformerConfig):
        super().__init__()
        self.config = c = config
        self.enc_tok, self.enc_pos = nn.Embedding(c.vocab_size, c.n_embd), nn.Embedding(c.max_len, c.n_embd)
        self.enc_blocks = nn.ModuleList(self._encoder_block(c) for _ in range(c.n_layer))
        self.enc_ln = nn.LayerNorm(c.n_embd)
        self.to_latent = nn.Linear(c.max_len * c.n_embd, 2 * c.latent)
        self.dec_tok, self.dec_pos = nn.Embedding(c.vocab_size, c.n_embd), nn.Embedding(c.max_len, c.n_embd)
        self.from_latent = nn.Linear(c.latent, c.n_embd)
        self.dec_blocks = nn.ModuleList(Block(c.n_embd, c.n_head, causal=True) for _ in range(c.n_layer))
        self.dec_ln = nn.LayerNorm(c.n_embd)
        self.head = nn.Linear(c.n_embd, c.vocab_size)

    @staticmethod
    def _encoder_block(c: NetformerConfig) -> Block:
        """A bidirectional block. Its attention is drawn again after its MLP: the order in which
        08's encoder drew its weights before the library had one block, so every seed gives
        the numbers 08 states (issue 15 re-measures 08 and can drop this)."""
        block = Block(c.n_embd, c.n_head, causal=False)
        for layer in (block.attn.q_proj, block.attn.k_proj, block.attn.v_proj, block.attn.out_proj):
            layer.reset_parameters()
        return block

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


# ---------------------------------------------------------------- training and evaluation

class KLAnnealing:
    """The KL weight of 08's training, set before every optimiser step by ``fit``'s ``on_step`` hook.

    It rises linearly from 0 to ``beta`` over the first ``warmup`` share of the steps and stays
    there (KL annealing, Bowman et al. 2016): step ``s`` of ``total`` (0-based) gets
    ``beta * min(1, (s + 1) / (warmup * total))``. ``warmup=0`` uses ``beta`` from the start.
    """

    def __init__(self, beta: float, warmup: float = 0.3):
        if beta < 0 or not 0 <= warmup <= 1:
            raise ValueError(f"need beta >= 0 and a KL warmup in [0, 1], got {beta}, {warmup}")
        self.beta, self.warmup = beta, warmup
        self.weight = 0.0 if warmup > 0 else beta

    def __call__(self, step: int, total: int) -> None:
        """``fit``'s ``on_step(step, total)``: the weight of the coming step."""
        ramp = min(1.0, (step + 1) / (self.warmup * total)) if self.warmup > 0 else 1.0
        self.weight = self.beta * ramp


def train_netformer(model: NetformerVAE, ids: torch.Tensor, *, num_epochs: int, beta: float = 0.05,
                    kl_warmup: float = 0.3, lr: float = 3e-3, batch_size: int = 32,
                    val_ids: torch.Tensor | None = None, eval_fn: Callable[[nn.Module], dict] | None = None,
                    time_budget: float | None = None, seed: int = 0, progress: bool = True,
                    live_plot: list[str] | None = None, loss: Callable[..., torch.Tensor] | None = None) -> History:
    """Minimise ``sequence_vae_loss`` (or ``loss``, the learner's from 08) with AdamW through ``genlab.train.fit``.

    The learning rate follows the course's one schedule, ``train.warmup_cosine`` (no warm-up: a
    half cosine from ``lr`` down to 10 %). β < 1 on purpose, and it rises from 0 over the first
    ``kl_warmup`` of the steps (``KLAnnealing``, called by ``fit`` before every step): an
    autoregressive decoder can model uniformly random cells without z at all (posterior
    collapse), and starting with a free code lets the decoder learn to read z first (08, section 5).
    Every epoch records ``lr`` and ``kl_weight`` (those of its last step); with ``val_ids`` also
    ``val_recon`` (``reconstruction_accuracy``), and whatever ``eval_fn(model)`` returns (e.g. the
    validity of a few prior samples).
    """
    kl = KLAnnealing(beta, kl_warmup)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        logits, mu, log_var = m(batch[0])
        return (loss or sequence_vae_loss)(logits, batch[0][:, 1:], mu, log_var, kl.weight)

    def evaluate(m: nn.Module) -> dict:
        out = {"lr": optimizer.param_groups[0]["lr"], "kl_weight": kl.weight}
        if val_ids is not None:
            out["val_recon"] = reconstruction_accuracy(m, val_ids)
        return out | (eval_fn(m) if eval_fn is not None else {})

    return fit(model, loss_fn, (ids,), num_epochs=num_epochs, lr=lr, batch_size=batch_size, optimizer=optimizer,
               lr_schedule=warmup_cosine, on_step=kl, eval_fn=evaluate, time_budget=time_budget, seed=seed,
               progress=progress, live_plot=live_plot)


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


__all__ = ["PAD", "BOS", "EOS", "PAD_ID", "BOS_ID", "EOS_ID", "Vocab", "tokenize", "detokenize", "NB201_VOCAB",
           "NB201_MAX_LEN", "encode_cells", "decode_cells", "token_nll", "sequence_vae_loss", "NetformerConfig",
           "NetformerVAE", "KLAnnealing", "train_netformer", "encode_mu", "reconstruct", "reconstruction_accuracy",
           "interpolate"]
