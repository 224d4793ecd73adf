"""CLIP (Radford et al. 2021): an image tower and a text tower trained to agree. Introduced in 10_clip.

A batch of N (image, caption) pairs gives an N×N table of cosine similarities; the symmetric
contrastive loss (InfoNCE, ``contrastive_loss``) asks each image to pick its own caption among
the N and each caption its own image. A learned temperature, ``logit_scale`` = log(1/τ),
sharpens the softmax as the towers improve.

- ``CLIPConfig``, ``CLIP``: the image tower is ``genlab.vision.vit.VisionTransformer``; the text
  tower is the library's one Transformer block, causal as in a language model, read at the
  end-of-text token. ``encode_image``, ``encode_text``, ``forward`` → (logits_per_image,
  logits_per_text).
- ``build_clip``: presets — OpenAI's "ViT-B/32" and "ViT-B/16" (exactly OpenAI's parameter
  counts) and the course's "tiny" and "tiny-plain".

Parameter names are OpenAI's (``visual``, ``transformer``, ``token_embedding``,
``positional_embedding``, ``ln_final``, ``text_projection``, ``logit_scale``); inside a block the
library's names apply, bridged by the table in ``genlab.vision.checkpoint``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
from torch import nn
from torch.nn import functional as F

from ..nn.transformer import ACTIVATIONS, Transformer
from .vit import VisionTransformer

LOGIT_SCALE_INIT = math.log(1 / 0.07)   # τ = 0.07 at the start (OpenAI)
LOGIT_SCALE_MAX = math.log(100)         # 1/τ ≤ 100: beyond it training becomes unstable (open_clip)


@dataclass
class CLIPConfig:
    """A CLIP's shape; the defaults are OpenAI's ViT-B/32 (151,277,313 parameters).

    ``vision_heads=None`` follows OpenAI: one head per 64 channels. ``vision_stem``: ``None`` (a
    patchify ``conv1``) or ``"conv"`` (Xiao et al.'s conv stem). ``eot_token=None`` reads the text
    feature where the token id is largest — OpenAI's rule, right when end-of-text is the highest
    id in the vocabulary and padding is 0 —, an int reads it at the first occurrence of that id.
    """

    embed_dim: int = 512
    image_resolution: int = 224
    vision_layers: int = 12
    vision_width: int = 768
    vision_patch_size: int = 32
    vision_heads: int | None = None
    vision_stem: str | None = None
    context_length: int = 77
    vocab_size: int = 49408
    transformer_width: int = 512
    transformer_heads: int = 8
    transformer_layers: int = 12
    activation: str = "quick_gelu"
    eot_token: int | None = None

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("vision_stem", "activation") or (value is None and f.name in ("vision_heads", "eot_token")):
                continue
            low = 0 if f.name == "eot_token" else 1
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{f.name} must be an int >= {low}, got {value!r}")
        if self.vision_width % self.image_heads:
            raise ValueError(f"vision_width ({self.vision_width}) must be divisible by vision_heads ({self.image_heads})")
        if self.transformer_width % self.transformer_heads:
            raise ValueError(f"transformer_width ({self.transformer_width}) must be divisible by "
                             f"transformer_heads ({self.transformer_heads})")
        if self.vision_stem not in (None, "conv"):
            raise ValueError(f"vision_stem must be None or 'conv', got {self.vision_stem!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.eot_token is not None and self.eot_token >= self.vocab_size:
            raise ValueError(f"eot_token {self.eot_token} is not in the vocabulary [0, {self.vocab_size})")

    @property
    def image_heads(self) -> int:
        """The image tower's heads: ``vision_heads``, or OpenAI's rule ``vision_width // 64``."""
        return self.vision_heads or max(1, self.vision_width // 64)


def _tiny(**changes) -> CLIPConfig:
    base = CLIPConfig(embed_dim=64, image_resolution=32, vision_layers=3, vision_width=64, vision_patch_size=8,
                      vision_heads=4, vision_stem="conv", context_length=16, vocab_size=64, transformer_width=64,
                      transformer_heads=4, transformer_layers=1, activation="gelu")
    return replace(base, **changes)


PRESETS: dict[str, CLIPConfig] = {
    "ViT-B/32": CLIPConfig(),                        # OpenAI's: 151,277,313 parameters
    "ViT-B/16": CLIPConfig(vision_patch_size=16),    # OpenAI's: 149,620,737 parameters
    "tiny": _tiny(),                                 # 10_clip: 32×32 images, conv stem, 242,577
    "tiny-plain": _tiny(vision_stem=None),           # the same with a patchify conv1: 227,073
}


class CLIP(nn.Module):
    """The dual encoder. ``forward(images, texts)`` → (logits_per_image, logits_per_text), each
    N×N: ``scale() · cos(image_i, text_j)`` and its transpose."""

    def __init__(self, config: CLIPConfig):
        super().__init__()
        self.config = c = config
        self.visual = VisionTransformer(c.image_resolution, c.vision_patch_size, c.vision_width, c.vision_layers,
                                        c.image_heads, c.embed_dim, stem=c.vision_stem == "conv", activation=c.activation)
        self.transformer = Transformer(c.transformer_width, c.transformer_layers, c.transformer_heads,
                                       causal=True, activation=c.activation)
        self.token_embedding = nn.Embedding(c.vocab_size, c.transformer_width)
        self.positional_embedding = nn.Parameter(torch.empty(c.context_length, c.transformer_width))
        self.ln_final = nn.LayerNorm(c.transformer_width)
        self.text_projection = nn.Parameter(torch.empty(c.transformer_width, c.embed_dim))
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """OpenAI's initialisation, its text-tower rule used for the blocks of both towers: small
        weights into the residual stream (std shrinks with depth), zero biases."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=self.config.transformer_width ** -0.5)
        for tower in (self.visual.transformer, self.transformer):
            width, proj_std = tower.width, tower.width ** -0.5 * (2 * max(tower.layers, 1)) ** -0.5
            for block in tower.resblocks:
                for layer, std in ((block.attn.q_proj, width ** -0.5), (block.attn.k_proj, width ** -0.5),
                                   (block.attn.v_proj, width ** -0.5), (block.attn.out_proj, proj_std),
                                   (block.mlp.fc, (2 * width) ** -0.5), (block.mlp.proj, proj_std)):
                    nn.init.normal_(layer.weight, std=std)
                    nn.init.zeros_(layer.bias)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, R, R) images → (B, embed_dim) features (not normalised)."""
        return self.visual(images)

    def eot_positions(self, texts: torch.Tensor) -> torch.Tensor:
        """Where each row's end-of-text token is (see ``CLIPConfig.eot_token``)."""
        if self.config.eot_token is None:
            return texts.argmax(dim=-1)              # OpenAI: EOT has the highest id (first maximum)
        is_eot = texts == self.config.eot_token
        if not bool(is_eot.any(dim=-1).all()):
            raise ValueError(f"every text needs the end-of-text token {self.config.eot_token}")
        return is_eot.int().argmax(dim=-1)           # the first occurrence

    def encode_text(self, texts: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids, T ≤ context_length → (B, embed_dim) features (not normalised).

        A causal transformer: the end-of-text position has read the whole caption and nothing
        after it, so its output (after ``ln_final``, projected) is the caption's feature.
        """
        c = self.config
        if not isinstance(texts, torch.Tensor) or texts.dtype != torch.long or texts.ndim != 2:
            raise ValueError(f"texts must be a (batch, length) int64 tensor, got "
                             f"{getattr(texts, 'dtype', type(texts).__name__)} of shape {tuple(getattr(texts, 'shape', ()))}")
        if not 1 <= texts.shape[1] <= c.context_length:
            raise ValueError(f"texts of length {texts.shape[1]}: need 1 to context_length={c.context_length} tokens")
        if texts.device.type != "meta" and (int(texts.min()) < 0 or int(texts.max()) >= c.vocab_size):
            raise ValueError(f"token ids must lie in [0, {c.vocab_size})")
        x = self.token_embedding(texts) + self.positional_embedding[:texts.shape[1]]
        x = self.transformer(x)
        x = x[torch.arange(x.shape[0], device=x.device), self.eot_positions(texts)]
        return self.ln_final(x) @ self.text_projection    # LayerNorm is per position: only EOT's is needed

    def scale(self) -> torch.Tensor:
        """1/τ = exp(logit_scale), clamped to [1, 100] as open_clip does (it clamps the parameter
        after each step; clamping here needs no hook, and stops the gradient past the bound)."""
        return self.logit_scale.clamp(0, LOGIT_SCALE_MAX).exp()

    def forward(self, images: torch.Tensor, texts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits_per_image, logits_per_text): scaled cosine similarities, (N_img, N_txt) and its transpose."""
        image_features = F.normalize(self.encode_image(images), dim=-1)
        text_features = F.normalize(self.encode_text(texts), dim=-1)
        logits_per_image = self.scale() * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


def contrastive_loss(image_features: torch.Tensor, text_features: torch.Tensor,
                     logit_scale: float | torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric InfoNCE loss for N matching pairs (row i of each is a pair).

    Normalise both, logits = ``logit_scale`` · cosine similarities (N×N), then the mean of the
    cross-entropy of each image over the texts and of each text over the images, the right
    answer being the diagonal. ``logit_scale`` is the multiplier 1/τ itself (already
    exponentiated, as ``CLIP.scale()`` and the variable of that name in OpenAI's and open_clip's
    forward), not its logarithm.
    """
    if image_features.ndim != 2 or image_features.shape != text_features.shape or len(image_features) < 1:
        raise ValueError(f"need two (N, D) feature tensors of the same shape, got {tuple(image_features.shape)} "
                         f"and {tuple(text_features.shape)}")
    scale = torch.as_tensor(logit_scale, dtype=image_features.dtype, device=image_features.device)
    if scale.numel() != 1 or not float(scale.detach()) > 0:
        raise ValueError(f"logit_scale must be one number > 0 (the multiplier 1/τ), got {logit_scale!r}")
    logits = scale * F.normalize(image_features, dim=-1) @ F.normalize(text_features, dim=-1).t()
    labels = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def build_clip(name_or_config: str | CLIPConfig, **changes) -> CLIP:
    """A CLIP from a preset name (``PRESETS``: "ViT-B/32", "ViT-B/16", "tiny", "tiny-plain") or a
    ``CLIPConfig``; ``changes`` replace config fields, e.g. ``build_clip("tiny", vocab_size=40)``.

    Weights are freshly initialised — nothing is downloaded. Under ``with torch.device("meta"):``
    it allocates nothing, which is how 10_clip counts ViT-B/32's parameters.
    """
    if isinstance(name_or_config, str):
        if name_or_config not in PRESETS:
            raise ValueError(f"unknown CLIP preset {name_or_config!r}; the presets are {list(PRESETS)}")
        name_or_config = PRESETS[name_or_config]
    if not isinstance(name_or_config, CLIPConfig):
        raise ValueError(f"need a preset name or a CLIPConfig, got {type(name_or_config).__name__}")
    return CLIP(replace(name_or_config, **changes))


__all__ = ["CLIPConfig", "CLIP", "PRESETS", "contrastive_loss", "build_clip", "LOGIT_SCALE_INIT", "LOGIT_SCALE_MAX"]
