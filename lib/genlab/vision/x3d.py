"""X3D (Feichtenhofer 2020): a tiny image network expanded, one axis at a time, into a video network. Introduced in 12_x3d.

The paper starts from a small 2D ResNet-like network (X2D) and grows it along six axes, each an
expansion factor: γt the clip's frame count (its temporal size), γτ the temporal stride between
sampled frames (a smaller stride is a higher frame rate; the paper's Table 1: "stride γτ"), γs the
crop size, γw the network's width, γb the bottleneck's width (inside each block) and γd its depth.
Four of the resulting networks are the presets "XS", "S", "M" and "L" (``X3D_PRESETS``); the first
three share one network and differ only in their input, which is why their parameter counts agree
and their multiply-adds do not (``PAPER``).

- ``X3DFactors``: the six factors. γt, γτ and γs shape the input clip (γτ only matters to the
  video reader); γw, γb and γd shape the network through ``expand_stages``.
- ``round_width``, ``round_depth``, ``expand_stages``: the expansion rule, rounded as the
  reference code rounds it — widths to a multiple of 8, depths up.
- The parts: ``Stem`` (a spatial 1×3×3 conv, then a channel-wise temporal 5×1×1 conv, BN, ReLU),
  ``ResStage`` of ``ResBlock`` (a ``Bottleneck`` — 1×1×1 conv, channel-wise 3×3×3 conv,
  squeeze-excitation (``SqueezeExcitation``) on every other block, swish, 1×1×1 conv — plus the
  shortcut), and ``Head`` (1×1×1 conv, BN, ReLU, global average pool, a 2048-wide "fc" layer as a
  1×1×1 conv, ReLU, dropout, classifier).
- ``build_x3d``: a preset name or ``X3DFactors`` → an ``X3D``. ``count_macs``: multiply-adds of
  one clip, counted on the meta device (no memory, no time).
- ``load_pretrained``: an official checkpoint in pytorchvideo's layout, from a local file.

Module names follow pytorchvideo's ``create_x3d`` (``blocks.0`` the stem, ``blocks.1``–``blocks.4``
the stages, ``blocks.5`` the head), so its checkpoints load by name; a few of those names are odd
(the stem's spatial conv is called ``conv_t``) and are kept on purpose, with a comment.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

STEM_WIDTH = 12              # the X2D stem's width before γw (SlowFast's DIM_C1)
STAGE_DEPTHS = (1, 2, 5, 3)  # the X2D blocks per stage before γd
HEAD_WIDTH = 2048            # the "fc" layer before the classifier (SlowFast's DIM_C5); not scaled by γw
SE_RATIO = 0.0625            # squeeze-excitation squeezes to 1/16 of the channels (then rounded to 8)


@dataclass(frozen=True)
class X3DFactors:
    """The paper's six expansion factors; the defaults of the last three are X3D-XS/S/M's.

    ``frames`` (γt), ``stride`` (γτ) and ``resolution`` (γs) describe the input clip: ``frames``
    frames taken every ``stride`` frames of the video, cropped to ``resolution``². ``width`` (γw),
    ``bottleneck`` (γb) and ``depth`` (γd) multiply the network's channels, its blocks' inner
    channels and its blocks per stage.
    """

    frames: int
    stride: int
    resolution: int
    width: float = 2.0
    bottleneck: float = 2.25
    depth: float = 2.2

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "int" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{f.name} must be an int >= 1, got {value!r}")
            if f.type == "float" and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
                raise ValueError(f"{f.name} must be a number > 0, got {value!r}")

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """One clip's shape, (channels, frames, height, width)."""
        return (3, self.frames, self.resolution, self.resolution)


# SlowFast's configs/Kinetics/X3D_{XS,S,M,L}.yaml: NUM_FRAMES, SAMPLING_RATE, TRAIN_CROP_SIZE, DEPTH_FACTOR.
X3D_PRESETS: dict[str, X3DFactors] = {
    "XS": X3DFactors(frames=4, stride=12, resolution=160),
    "S": X3DFactors(frames=13, stride=6, resolution=160),
    "M": X3DFactors(frames=16, stride=5, resolution=224),
    "L": X3DFactors(frames=16, stride=5, resolution=312, depth=5.0),
}

# Kinetics-400, one view at the preset's input: millions of parameters, GFLOPs (multiply-adds).
# From SlowFast's MODEL_ZOO.md, which repeats the paper's table.
PAPER: dict[str, dict[str, float]] = {
    "XS": {"params_m": 3.8, "gflops": 0.60},
    "S": {"params_m": 3.8, "gflops": 1.96},
    "M": {"params_m": 3.8, "gflops": 4.73},
    "L": {"params_m": 6.2, "gflops": 18.37},
}


# --- the expansion rule -----------------------------------------------------------------------

def round_width(width: float, multiplier: float, divisor: int = 8, min_width: int = 8) -> int:
    """``width · multiplier`` rounded to the nearest multiple of ``divisor`` (at least
    ``min_width``), one ``divisor`` more if rounding lost over 10 % — hardware likes channel counts
    that are multiples of 8, and a layer should not shrink much below what was asked for."""
    scaled = width * multiplier
    rounded = max(min_width, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_depth(depth: int, multiplier: float) -> int:
    """``depth · multiplier`` blocks, rounded up: a stage never loses its last block."""
    return math.ceil(depth * multiplier)


class StageConfig(NamedTuple):
    """One stage: its output ``width``, its ``depth`` in blocks, the blocks' ``inner`` width."""

    width: int
    depth: int
    inner: int


def expand_stages(factors: X3DFactors) -> list[StageConfig]:
    """The four stages of X2D grown by γw, γd and γb.

    X2D's stages double the stem's width (12, 24, 48, 96) and hold 1, 2, 5, 3 blocks. γw scales
    each width (``round_width``), γd each depth (``round_depth``), and a block's inner width is
    γb times its stage's width (truncated). XS/S/M: widths 24, 48, 96, 192; depths 3, 5, 11, 7;
    inner widths 54, 108, 216, 432.
    """
    base_widths = [STEM_WIDTH]
    for _ in STAGE_DEPTHS[1:]:
        base_widths.append(round_width(base_widths[-1], 2.0))
    stages = []
    for base_width, base_depth in zip(base_widths, STAGE_DEPTHS):
        width = round_width(base_width, factors.width)
        stages.append(StageConfig(width, round_depth(base_depth, factors.depth), int(factors.bottleneck * width)))
    return stages


# --- the parts --------------------------------------------------------------------------------

class Swish(nn.Module):
    """x · sigmoid(x) (Ramachandran et al. 2017), the activation inside X3D's blocks."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class StemConv(nn.Module):
    """The stem's two convolutions. pytorchvideo's names are swapped — ``conv_t`` is the spatial
    1×3×3 conv and ``conv_xy`` the temporal 5×1×1 one — and kept so checkpoints load."""

    def __init__(self, width: int, kernel_t: int = 5):
        super().__init__()
        self.conv_t = nn.Conv3d(3, width, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
        # channel-wise (groups = channels): each channel mixes only its own frames
        self.conv_xy = nn.Conv3d(width, width, (kernel_t, 1, 1), padding=(kernel_t // 2, 0, 0), bias=False,
                                 groups=width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_xy(self.conv_t(x))


class Stem(nn.Module):
    """Halves the frame's height and width, keeps every frame: conv (spatial, then temporal), BN, ReLU."""

    def __init__(self, width: int):
        super().__init__()
        self.conv = StemConv(width)
        self.norm = nn.BatchNorm3d(width)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.norm(self.conv(x)))


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): average each channel over the whole clip, pass the
    averages through a small two-layer network, and rescale each channel by the sigmoid of its
    output — a cheap, clip-wide gate on channels that a channel-wise conv cannot mix."""

    def __init__(self, channels: int, ratio: float = SE_RATIO):
        super().__init__()
        reduced = round_width(channels, ratio)
        self.block = nn.Sequential(nn.Conv3d(channels, reduced, 1), nn.ReLU(), nn.Conv3d(reduced, channels, 1),
                                   nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.block(x.mean(dim=(2, 3, 4), keepdim=True))


class Bottleneck(nn.Module):
    """The residual branch: 1×1×1 conv up to ``inner`` channels, BN, ReLU; channel-wise 3×3×3 conv
    (strided in a stage's first block), BN, squeeze-excitation if ``se``; swish; 1×1×1 conv back
    down to ``width``, BN (initialised to zero, so a new block starts as the identity)."""

    def __init__(self, in_width: int, inner: int, width: int, stride: int = 1, se: bool = False):
        super().__init__()
        self.conv_a = nn.Conv3d(in_width, inner, 1, bias=False)
        self.norm_a = nn.BatchNorm3d(inner)
        self.act_a = nn.ReLU()
        self.conv_b = nn.Conv3d(inner, inner, 3, stride=(1, stride, stride), padding=1, bias=False, groups=inner)
        # pytorchvideo keeps BN and SE together in one Sequential named norm_b
        self.norm_b = nn.Sequential(nn.BatchNorm3d(inner), SqueezeExcitation(inner) if se else nn.Identity())
        self.act_b = Swish()
        self.conv_c = nn.Conv3d(inner, width, 1, bias=False)
        self.norm_c = nn.BatchNorm3d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act_a(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class ResBlock(nn.Module):
    """ReLU(shortcut(x) + bottleneck(x)). The shortcut is x itself, or — when the block strides or
    changes width — a strided 1×1×1 conv (``branch1_conv``), with a BN only if the width changes
    (pytorchvideo's rule: stage 1 keeps the stem's width, so its projection has no BN)."""

    def __init__(self, in_width: int, inner: int, width: int, stride: int = 1, se: bool = False):
        super().__init__()
        project = in_width != width or stride != 1
        self.branch1_conv = nn.Conv3d(in_width, width, 1, stride=(1, stride, stride), bias=False) if project else None
        self.branch1_norm = nn.BatchNorm3d(width) if in_width != width else None
        self.branch2 = Bottleneck(in_width, inner, width, stride, se)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.branch1_conv is not None:
            shortcut = self.branch1_conv(x)
        if self.branch1_norm is not None:
            shortcut = self.branch1_norm(shortcut)
        return self.activation(shortcut + self.branch2(x))


# The exercise of 12_x3d names a block's parts flat; the library's ResBlock keeps pytorchvideo's names.
FLAT_BLOCK_NAMES = {"branch2.conv_a": "conv_a", "branch2.norm_a": "norm_a", "branch2.conv_b": "conv_b",
                    "branch2.norm_b.0": "norm_b", "branch2.norm_b.1": "se", "branch2.conv_c": "conv_c",
                    "branch2.norm_c": "norm_c", "branch1_conv": "shortcut", "branch1_norm": "shortcut_norm"}


def flat_block_state(block: ResBlock) -> dict[str, torch.Tensor]:
    """``block``'s state dict under 12_x3d's flat names (``conv_a`` … ``norm_c``, ``se``,
    ``shortcut``, ``shortcut_norm``): the exercise's tests load the library's weights with it."""
    renamed = {}
    for key, value in block.state_dict().items():
        prefix = next(p for p in sorted(FLAT_BLOCK_NAMES, key=len, reverse=True) if key.startswith(p + "."))
        renamed[FLAT_BLOCK_NAMES[prefix] + key[len(prefix):]] = value
    return renamed


class ResStage(nn.Module):
    """``config.depth`` blocks; the first halves height and width, every other one (the 1st, 3rd, …)
    has squeeze-excitation. Time is never strided: every frame survives to the head. ``block`` is
    the block's class, called as ``block(in_width, inner, width, stride=…, se=…)`` (12_x3d's
    exercise passes its own)."""

    def __init__(self, in_width: int, config: StageConfig, block: Callable[..., nn.Module] = ResBlock):
        super().__init__()
        self.res_blocks = nn.ModuleList(
            block(in_width if i == 0 else config.width, config.inner, config.width,
                  stride=2 if i == 0 else 1, se=i % 2 == 0)
            for i in range(config.depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x


class ProjectedPool(nn.Module):
    """1×1×1 conv to ``inner`` channels, BN, ReLU, global average pool, then the ``HEAD_WIDTH``-wide
    "fc" layer — a 1×1×1 conv on the pooled 1×1×1 clip, without bias or BN — and ReLU."""

    def __init__(self, in_width: int, inner: int, out_width: int = HEAD_WIDTH):
        super().__init__()
        self.pre_conv = nn.Conv3d(in_width, inner, 1, bias=False)
        self.pre_norm = nn.BatchNorm3d(inner)
        self.pre_act = nn.ReLU()
        # pytorchvideo pools with a fixed kernel sized to the preset's clip; global pooling is the
        # same there and accepts any clip size
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.post_conv = nn.Conv3d(inner, out_width, 1, bias=False)
        self.post_act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.pre_act(self.pre_norm(self.pre_conv(x))))
        return self.post_act(self.post_conv(x))

    def per_frame(self, x: torch.Tensor) -> torch.Tensor:
        """As ``forward``, but pooled over height and width only: (B, out_width, T, 1, 1)."""
        x = self.pre_act(self.pre_norm(self.pre_conv(x))).mean(dim=(3, 4), keepdim=True)
        return self.post_act(self.post_conv(x))


class Head(nn.Module):
    """Features → logits: ``ProjectedPool``, dropout, a linear classifier."""

    def __init__(self, in_width: int, inner: int, num_classes: int, dropout: float = 0.5):
        super().__init__()
        self.pool = ProjectedPool(in_width, inner)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(HEAD_WIDTH, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dropout(self.pool(x).flatten(1)))

    def per_frame(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, num_classes): the classifier applied at each time step instead of after the
        clip-wide pool — how much each moment of the clip speaks for each class."""
        return self.proj(self.pool.per_frame(x).flatten(2).transpose(1, 2))


class X3D(nn.Module):
    """An X3D network: ``blocks`` = [stem, 4 stages, head]. ``forward`` maps a batch of clips
    (B, 3, T, H, W) to (B, num_classes) logits; height and width shrink 32× (stem and stages halve
    them), time not at all, before the head's global pool."""

    def __init__(self, factors: X3DFactors, num_classes: int = 400, dropout: float = 0.5, *,
                 block: Callable[..., nn.Module] = ResBlock,
                 expand: Callable[[X3DFactors], list[StageConfig]] = expand_stages):
        super().__init__()
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.factors = factors
        self.stages = [StageConfig(*config) for config in expand(factors)]
        if len(self.stages) != len(STAGE_DEPTHS):
            raise ValueError(f"expand must return {len(STAGE_DEPTHS)} stages, got {len(self.stages)}")
        width = round_width(STEM_WIDTH, factors.width)
        blocks: list[nn.Module] = [Stem(width)]
        for config in self.stages:
            blocks.append(ResStage(width, config, block))
            width = config.width
        blocks.append(Head(width, self.stages[-1].inner, num_classes, dropout))
        self.blocks = nn.ModuleList(blocks)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The reference initialisation: He-normal convs (fan-out), BN scale 1 and shift 0 except
        each bottleneck's last BN at 0 (a fresh block adds nothing), a small normal classifier."""
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(module.bias)
        for module in self.modules():   # the library's Bottleneck, or an exercise's block: norm_c is last
            if isinstance(getattr(module, "norm_c", None), nn.BatchNorm3d):
                nn.init.zeros_(module.norm_c.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"need clips shaped (B, 3, T, H, W), got {tuple(x.shape)}")
        for block in self.blocks:
            x = block(x)
        return x

    def frame_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, num_classes): per-frame evidence — the head applied to each time step of the
        last stage's features (pooled over space only). Each step has seen its neighbours
        through the 3×3×3 convolutions, so it is evidence about a moment, not a single frame."""
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"need clips shaped (B, 3, T, H, W), got {tuple(x.shape)}")
        for block in self.blocks[:-1]:
            x = block(x)
        return self.blocks[-1].per_frame(x)

    def load_pretrained(self, path: str | Path) -> X3D:
        """This model with the weights of a local checkpoint (see ``load_pretrained``)."""
        return load_pretrained(self, path)


def build_x3d(name_or_factors: str | X3DFactors, num_classes: int = 400, dropout: float = 0.5, *,
              block: Callable[..., nn.Module] = ResBlock,
              expand: Callable[[X3DFactors], list[StageConfig]] = expand_stages) -> X3D:
    """An X3D from a preset name ("XS", "S", "M", "L") or from ``X3DFactors``. ``block`` (the
    residual block's class) and ``expand`` (factors → stages) default to the library's; 12_x3d
    builds with the learner's."""
    if isinstance(name_or_factors, str):
        if name_or_factors not in X3D_PRESETS:
            raise ValueError(f"unknown X3D preset {name_or_factors!r}; choose one of {sorted(X3D_PRESETS)}")
        factors = X3D_PRESETS[name_or_factors]
    elif isinstance(name_or_factors, X3DFactors):
        factors = name_or_factors
    else:
        raise ValueError(f"need a preset name or X3DFactors, got {type(name_or_factors).__name__}")
    return X3D(factors, num_classes, dropout, block=block, expand=expand)


# --- counting and checkpoints -----------------------------------------------------------------

def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass on a batch shaped ``input_shape`` (batch included, e.g.
    (1, 3, 16, 224, 224)), counted by ``torch.utils.flop_counter`` on the meta device: tensors
    there have shapes but no data, so nothing is computed and nothing allocated. torch counts
    2 FLOPs per multiply-add (convolutions and matrix products; BN, activations and pooling are
    not counted — as in the paper). The model's weights are not touched, its mode is restored."""
    meta = {name: torch.empty_like(t, device="meta") for name, t in model.state_dict(keep_vars=True).items()}
    x = torch.empty(input_shape, device="meta")
    counter = FlopCounterMode(display=False)
    training = model.training
    model.eval()       # batch norm in training mode refuses one value per channel (a batch of 1 at 1×1×1)
    try:
        with counter, torch.no_grad():
            torch.func.functional_call(model, meta, (x,))
    finally:
        model.train(training)
    return counter.get_total_flops() // 2


def _read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a ``torch.save`` file: the dict itself, or a training checkpoint holding
    it under ``"model_state"`` (SlowFast, pytorchvideo's zoo) or ``"state_dict"`` (Lightning)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint file at {path}")
    data = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(data, Mapping):
        for key in ("model_state", "state_dict"):
            if isinstance(data.get(key), Mapping):
                data = data[key]
                break
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ValueError(f"{path} holds no state dict of tensors")
    return {k.removeprefix("module.").removeprefix("model."): v for k, v in data.items()}


def load_pretrained(model: X3D, path: str | Path) -> X3D:
    """``model`` with the weights of a checkpoint in pytorchvideo's ``create_x3d`` layout, read from
    a local file (nothing is downloaded): e.g. ``x3d_m.pyth`` of pytorchvideo's model zoo
    (``torch.hub`` "facebookresearch/pytorchvideo", URLs in ``pytorchvideo/models/hub/x3d.py``),
    fetched once outside the course. Build the model with the checkpoint's preset and its number
    of classes first. Every weight must be there and fit: a missing, unexpected or wrongly shaped
    key is a ValueError naming it. Returns the model, in eval mode."""
    state_dict = _read_state_dict(path)
    own = model.state_dict()
    missing = sorted(own.keys() - state_dict.keys())
    unexpected = sorted(state_dict.keys() - own.keys())
    if missing or unexpected:
        raise ValueError(f"checkpoint {path} does not match this X3D: missing {missing[:5]}"
                         f"{' …' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                         f"{' …' if len(unexpected) > 5 else ''}")
    for key, value in own.items():
        if state_dict[key].shape != value.shape:
            raise ValueError(f"checkpoint {path}: {key} has shape {tuple(state_dict[key].shape)}, "
                             f"this X3D needs {tuple(value.shape)}")
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


__all__ = ["X3DFactors", "X3D_PRESETS", "PAPER", "round_width", "round_depth", "StageConfig", "expand_stages",
           "Swish", "Stem", "SqueezeExcitation", "Bottleneck", "ResBlock", "FLAT_BLOCK_NAMES", "flat_block_state",
           "ResStage", "Head", "X3D", "build_x3d",
           "count_macs", "load_pretrained"]
