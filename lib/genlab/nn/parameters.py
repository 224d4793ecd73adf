"""Counting a model's parameters: the one counter of the library and the notebooks (03_gpt on)."""
from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters of ``model`` (each shared tensor once), or only of those with
    ``requires_grad`` — after ``lora.add_lora``, just the adapters' A and B (05_lora)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"count_parameters needs a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
