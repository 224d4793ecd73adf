"""OpenAI CLIP checkpoints in and out of ``genlab.vision.clip.CLIP``. Used in 10_clip and 11_clip_applications.

Nothing here downloads anything. A learner who wants real pretrained weights fetches a file
once, outside the course — OpenAI's released ``ViT-B-32.pt`` (a TorchScript archive; the URLs
are in openai/CLIP's ``clip/clip.py``) or an open_clip checkpoint of a ViT-B model trained in
OpenAI's layout — and passes its path to ``load_clip_checkpoint``. Every notebook runs without one.

Our parameter names follow OpenAI's CLIP everywhere except inside a Transformer block, where the
library has one block for GPT, Netformer and CLIP (``genlab.nn.transformer.Block``) with separate
q, k, v layers (LoRA targets them by name). ``BLOCK_NAMES`` is the whole bridge, per block
(``visual.transformer.resblocks.N.`` and ``transformer.resblocks.N.``):

    OpenAI (ResidualAttentionBlock)     genlab (nn.transformer.Block)
    ln_1.{weight,bias}                  ln1.{weight,bias}
    attn.in_proj_weight  (3D, D)        attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight  (D, D) each
    attn.in_proj_bias    (3D,)          attn.q_proj.bias, attn.k_proj.bias, attn.v_proj.bias        (D,) each
    attn.out_proj.{weight,bias}         attn.out_proj.{weight,bias}
    ln_2.{weight,bias}                  ln2.{weight,bias}
    mlp.c_fc.{weight,bias}              mlp.fc.{weight,bias}
    mlp.c_proj.{weight,bias}            mlp.proj.{weight,bias}

``nn.MultiheadAttention`` stacks q, k, v in that order along the output axis, so the fused
weight splits into three equal row blocks. All other names are the same on both sides.
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from .clip import CLIP, CLIPConfig

BLOCK_NAMES: dict[str, str | tuple[str, str, str]] = {
    "ln_1.weight": "ln1.weight",
    "ln_1.bias": "ln1.bias",
    "attn.in_proj_weight": ("attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight"),
    "attn.in_proj_bias": ("attn.q_proj.bias", "attn.k_proj.bias", "attn.v_proj.bias"),
    "attn.out_proj.weight": "attn.out_proj.weight",
    "attn.out_proj.bias": "attn.out_proj.bias",
    "ln_2.weight": "ln2.weight",
    "ln_2.bias": "ln2.bias",
    "mlp.c_fc.weight": "mlp.fc.weight",
    "mlp.c_fc.bias": "mlp.fc.bias",
    "mlp.c_proj.weight": "mlp.proj.weight",
    "mlp.c_proj.bias": "mlp.proj.bias",
}
_BLOCK = re.compile(r"^((?:visual\.)?transformer\.resblocks\.\d+\.)(.+)$")
_NOT_WEIGHTS = ("input_resolution", "context_length", "vocab_size")   # ints in OpenAI's TorchScript files


def from_openai_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenAI's names → ours, through ``BLOCK_NAMES`` (the fused ``in_proj`` split into q, k, v)."""
    ours: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key in _NOT_WEIGHTS:
            continue
        block = _BLOCK.match(key)
        if block is None:
            ours[key] = value
            continue
        prefix, name = block.groups()
        if name not in BLOCK_NAMES:
            raise ValueError(f"{key}: {name!r} is not a parameter of OpenAI's ResidualAttentionBlock")
        target = BLOCK_NAMES[name]
        if isinstance(target, str):
            ours[prefix + target] = value
        else:
            for part, chunk in zip(target, value.chunk(3, dim=0)):
                ours[prefix + part] = chunk
    return ours


def to_openai_state_dict(model: CLIP) -> dict[str, torch.Tensor]:
    """Our ``CLIP``'s weights under OpenAI's names (q, k, v fused back into ``in_proj``).

    A model without a conv stem gives exactly the keys and shapes of OpenAI's ``CLIP``; a conv
    stem's ``visual.stem.*`` keys are carried as they are (OpenAI has no stem).
    """
    state = model.state_dict()
    theirs: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        block = _BLOCK.match(key)
        if block is None:
            theirs[key] = value
            continue
        prefix, name = block.groups()
        for openai_name, target in BLOCK_NAMES.items():
            if target == name:
                theirs[prefix + openai_name] = value
            elif isinstance(target, tuple) and target[0] == name:   # q: fuse q, k, v once
                theirs[prefix + openai_name] = torch.cat([state[prefix + part] for part in target])
    return theirs


def _num_blocks(state_dict: Mapping[str, torch.Tensor], prefix: str) -> int:
    return len({key[len(prefix):].split(".")[0] for key in state_dict if key.startswith(prefix)})


def openai_config(state_dict: Mapping[str, torch.Tensor], **changes) -> CLIPConfig:
    """The ``CLIPConfig`` that OpenAI's ``build_model`` reads off a checkpoint's shapes.

    Heads cannot be read from shapes: OpenAI's rule, one head per 64 channels, is assumed (it
    holds for all its released ViTs); pass ``vision_heads=`` / ``transformer_heads=`` otherwise.
    ``activation`` defaults to OpenAI's ``"quick_gelu"``; ``changes`` override any field.
    """
    sd = state_dict
    if "visual.proj" not in sd:
        raise ValueError("not a ViT CLIP checkpoint in OpenAI's layout (no 'visual.proj'); "
                         "CLIP's ResNet towers (RN50, ...) are not supported")
    vision_width, _, _, patch = sd["visual.conv1.weight"].shape
    stem_convs = [k for k, v in sd.items() if k.startswith("visual.stem.") and v.ndim == 4]
    if stem_convs:                            # our own conv-stem models: each conv halves the image
        patch = 2 ** len(stem_convs)
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    config = dict(
        embed_dim=sd["text_projection"].shape[1],
        image_resolution=patch * grid,
        vision_layers=_num_blocks(sd, "visual.transformer.resblocks."),
        vision_width=vision_width,
        vision_patch_size=patch,
        vision_stem="conv" if stem_convs else None,
        context_length=sd["positional_embedding"].shape[0],
        vocab_size=sd["token_embedding.weight"].shape[0],
        transformer_width=sd["ln_final.weight"].shape[0],
        transformer_heads=max(1, sd["ln_final.weight"].shape[0] // 64),
        transformer_layers=_num_blocks(sd, "transformer.resblocks."),
        activation="quick_gelu",
    )
    return CLIPConfig(**{**config, **changes})


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive is a zip with a ``constants.pkl`` (torch.save's zips have none)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.split("/")[-1] == "constants.pkl" for name in archive.namelist())


def _read(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (nothing is downloaded: fetch the file yourself)")
    if _is_torchscript(path):                  # OpenAI's released files are TorchScript archives
        loaded = torch.jit.load(str(path), map_location="cpu").state_dict()
    else:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]          # a training checkpoint (open_clip's keeps the weights here)
    if not isinstance(loaded, Mapping):
        raise ValueError(f"{path} holds a {type(loaded).__name__}, not a state dict")
    return {k.removeprefix("module."): v for k, v in loaded.items()}


def load_clip_checkpoint(path_or_state_dict: str | Path | Mapping[str, torch.Tensor], **changes) -> CLIP:
    """A ``CLIP`` (float32, eval mode) holding a checkpoint in OpenAI's layout.

    ``path_or_state_dict``: a file saved with ``torch.save`` (a state dict, or a training
    checkpoint with one under ``"state_dict"``; a ``module.`` prefix is dropped), OpenAI's
    TorchScript archive, or a state dict. The config comes from the shapes (``openai_config``;
    ``changes`` override it — heads, ``activation``, ``eot_token``); names go through
    ``BLOCK_NAMES``; every weight must fit (strict). Nothing is downloaded.
    """
    if isinstance(path_or_state_dict, Mapping):
        state_dict = dict(path_or_state_dict)
    elif isinstance(path_or_state_dict, (str, Path)):
        state_dict = _read(path_or_state_dict)
    else:
        raise ValueError(f"need a path or a state dict, got {type(path_or_state_dict).__name__}")
    config = openai_config(state_dict, **changes)
    with torch.device("meta"):                 # no random init of weights about to be replaced
        model = CLIP(config)
    weights = {k: v.to(torch.float32, copy=True) if v.is_floating_point() else v.clone()   # float32, never
               for k, v in from_openai_state_dict(state_dict).items()}                      # shared with the input
    model.load_state_dict(weights, strict=True, assign=True)
    return model.eval()


__all__ = ["BLOCK_NAMES", "from_openai_state_dict", "to_openai_state_dict", "openai_config", "load_clip_checkpoint"]
