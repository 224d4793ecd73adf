"""The Vision Transformer (ViT, Dosovitskiy et al. 2021), CLIP's image tower. Introduced in 10_clip.

An image is cut into P×P patches and each patch is embedded linearly (``PatchEmbedding``); a
learned class token is put in front, learned positions are added, and the library's one
Transformer block (``genlab.nn.transformer``, here with ``causal=False``: every patch sees every
other) mixes them. The class token's output, normalised and projected, is the image's embedding.

Parameter names follow OpenAI CLIP's ``VisionTransformer`` — ``conv1``, ``class_embedding``,
``positional_embedding``, ``ln_pre``, ``transformer.resblocks.N``, ``ln_post``, ``proj`` — so its
checkpoints load by name; only the inside of a block differs (``genlab.vision.checkpoint``).

Small images learn better with an optional convolutional stem (Xiao et al. 2021, "Early
convolutions help transformers see better"): log₂(P) stride-2 3×3 convolutions, each followed by
BatchNorm and ReLU, shrink the image by P; ``conv1`` then becomes a 1×1 patch embedding.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..nn.transformer import Transformer


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut (B, C, H, W) images into P×P patches: (B, N, C·P·P), N = (H/P)·(W/P) patches row by
    row, each flattened channel first, then row, then column — the layout of a Conv2d weight
    (width, C, P, P), so ``patchify(x, P) @ conv.weight.reshape(width, -1).T`` is ``PatchEmbedding``.
    """
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive int, got {patch_size!r}")
    if images.ndim != 4 or images.shape[-2] % patch_size or images.shape[-1] % patch_size:
        raise ValueError(f"need (B, C, H, W) images with H and W multiples of patch_size={patch_size}, "
                         f"got shape {tuple(images.shape)}")
    B, C, H, W = images.shape
    P = patch_size
    patches = images.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)  # (B, H/P, W/P, C, P, P)
    return patches.reshape(B, (H // P) * (W // P), C * P * P)


class PatchEmbedding(nn.Conv2d):
    """Cut images into ``patch_size``² squares and embed each: (B, C, H, W) → (B, N, width).

    A Conv2d with kernel = stride = patch size is one Linear layer applied to every flattened
    patch; the N = (H/P)·(W/P) patches come row by row. No bias, as in OpenAI's ``conv1``:
    the positional embedding added next already is one.
    """

    def __init__(self, in_channels: int, width: int, patch_size: int):
        super().__init__(in_channels, width, kernel_size=patch_size, stride=patch_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).flatten(2).transpose(1, 2)  # (B, width, H/P, W/P) -> (B, N, width)


def conv_stem(width: int, patch_size: int, in_channels: int = 3) -> nn.Sequential:
    """Xiao et al. 2021's stem: log₂(patch_size) stride-2 3×3 convs (+ BN + ReLU) that shrink an
    image by ``patch_size``; channels double up to ``width`` (64 → 16, 32, 64 for P = 8)."""
    n = round(math.log2(patch_size)) if patch_size > 1 else 0
    if n < 1 or 2 ** n != patch_size:
        raise ValueError(f"a conv stem needs a power-of-two patch_size >= 2, got {patch_size}")
    if width % 2 ** (n - 1):
        raise ValueError(f"a conv stem needs width divisible by {2 ** (n - 1)}, got {width}")
    layers: list[nn.Module] = []
    for i in range(n):
        out = width // 2 ** (n - 1 - i)
        layers += [nn.Conv2d(in_channels, out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(out),
                   nn.ReLU(inplace=True)]
        in_channels = out
    return nn.Sequential(*layers)


class VisionTransformer(nn.Module):
    """Patches → [class token; patches] + positions → ln_pre → blocks → ln_post(class token) @ proj.

    ``stem=True`` puts ``conv_stem`` before a 1×1 ``conv1``. ``activation``: the blocks' MLP
    (``"quick_gelu"`` for OpenAI's weights).
    """

    def __init__(self, image_resolution: int, patch_size: int, width: int, layers: int, heads: int,
                 output_dim: int, stem: bool = False, activation: str = "gelu"):
        super().__init__()
        for name, value in (("image_resolution", image_resolution), ("patch_size", patch_size),
                            ("width", width), ("output_dim", output_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if image_resolution % patch_size:
            raise ValueError(f"image_resolution ({image_resolution}) must be a multiple of patch_size ({patch_size})")
        self.input_resolution, self.patch_size = image_resolution, patch_size
        self.stem = conv_stem(width, patch_size) if stem else None
        self.conv1 = PatchEmbedding(width, width, 1) if stem else PatchEmbedding(3, width, patch_size)
        scale = width ** -0.5
        num_patches = (image_resolution // patch_size) ** 2
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(num_patches + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, causal=False, activation=activation)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, R, R) images → (B, output_dim) embeddings (not normalised)."""
        R = self.input_resolution
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or tuple(images.shape[1:]) != (3, R, R):
            raise ValueError(f"images must be a (batch, 3, {R}, {R}) tensor, got shape "
                             f"{tuple(getattr(images, 'shape', ()))}")
        x = self.conv1(self.stem(images) if self.stem is not None else images)      # (B, N, width)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding                # (B, N + 1, width)
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.proj        # the class token speaks for the image


__all__ = ["patchify", "PatchEmbedding", "conv_stem", "VisionTransformer"]
