"""LoRA: low-rank adaptation of a frozen model (Hu et al., 2021). Introduced in 05_lora.

A fine-tuned weight is written as the frozen one plus a low-rank update,

    W' = W + (alpha / r) · B A,    A: (r, in),  B: (out, r),  r ≪ min(in, out),

and only A and B are trained. B starts at zero, so the adapted model starts exactly where
the base model is. As in minLoRA, the update is attached with
``torch.nn.utils.parametrize``: the model's code is untouched, ``module.weight`` simply
reads as W + ΔW. Merging bakes ΔW into the weight (no extra cost at inference); the returned
deltas undo it, so one base model can serve several adapters.

``train_adapter`` is the whole recipe: inject adapters into the named layers, freeze the rest,
train A and B. ``genlab.nn.count_parameters(model, trainable_only=True)`` counts what it trains.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn.utils import parametrize


class LoRA(nn.Module):
    """The parametrization ``W ↦ W + (alpha / rank) · B @ A`` of one Linear layer's weight."""

    def __init__(self, out_features: int, in_features: int, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        if rank < 1 or rank > min(in_features, out_features):
            raise ValueError(f"rank must be in 1..{min(in_features, out_features)} for a "
                             f"{out_features}×{in_features} weight, got {rank}")
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        self.A = nn.Parameter(torch.empty(rank, in_features))
        self.B = nn.Parameter(torch.zeros(out_features, rank))  # zero: start at the base model
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # as nn.Linear initialises its weight
        self.scale = alpha / rank  # keeps the update's size comparable across ranks

    def delta(self) -> torch.Tensor:
        return self.scale * self.B @ self.A

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + self.delta()


def add_lora(model: nn.Module, targets: tuple[str, ...] = ("q_proj", "v_proj"), rank: int = 8,
             alpha: float = 16.0) -> list[str]:
    """Freeze ``model`` and attach a LoRA update to every ``nn.Linear`` whose name ends with
    one of ``targets``. Returns the adapted modules' names."""
    adapted = [(name, m) for name, m in model.named_modules()
               if isinstance(m, nn.Linear) and name.split(".")[-1] in targets]
    if not adapted:
        linear = sorted({n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
        raise ValueError(f"no nn.Linear named {list(targets)} in this model; its Linear layers are named {linear}")
    for p in model.parameters():
        p.requires_grad_(False)
    for _, module in adapted:
        out_features, in_features = module.weight.shape
        lora = LoRA(out_features, in_features, rank, alpha).to(module.weight.device, module.weight.dtype)
        parametrize.register_parametrization(module, "weight", lora)
    return [name for name, _ in adapted]


def train_adapter(model: nn.Module, targets: tuple[str, ...], batches, lrs, *, rank: int = 8,
                  alpha: float = 16.0, inject=None) -> tuple[list[str], list[float]]:
    """Adapt ``model`` in place: ``add_lora(model, targets, rank, alpha)``, then one AdamW step
    (no weight decay, gradients clipped at norm 1) per batch ``(x, y)`` of ``batches`` with the
    learning rate ``lrs[i]`` — ``gpt_train.finetune_gpt``'s step, on A and B only.

    ``model(x, y)`` must return ``(logits, loss)`` (genlab's GPT). Returns the adapted layers'
    names and the training loss of each step (before its update). ``inject`` replaces ``add_lora``
    (05's tests pass the learner's ``inject_lora``, so they test the loop alone).
    """
    batches, lrs = list(batches), list(lrs)
    if len(batches) != len(lrs) or not batches:
        raise ValueError(f"need one learning rate per batch, got {len(batches)} batches and {len(lrs)} rates")
    names = (inject or add_lora)(model, targets, rank=rank, alpha=alpha)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lrs[0], weight_decay=0.0)
    losses = []
    model.train()
    for (x, y), lr in zip(batches, lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
    model.eval()
    return names, losses


def lora_modules(model: nn.Module) -> dict[str, LoRA]:
    """Every LoRA update in ``model``, by the name of the layer it adapts."""
    return {name: p for name, m in model.named_modules() if parametrize.is_parametrized(m, "weight")
            for p in m.parametrizations.weight if isinstance(p, LoRA)}


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapters' tensors: what has to be saved to share a fine-tuned model."""
    return {f"{name}.{k}": v.detach().clone() for name, lora in lora_modules(model).items()
            for k, v in lora.state_dict().items()}


def _own_class(module: nn.Module) -> None:
    """Give a parametrized module a class of its own (see ``clone``)."""
    cls = type(module)
    body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    module.__class__ = type(cls.__name__, cls.__bases__, body)


def clone(model: nn.Module) -> nn.Module:
    """A deep copy of a model with adapters that can be merged without harming the original.

    ``parametrize`` keeps the ``weight`` property on a class it creates for each module;
    ``copy.deepcopy`` shares that class between original and copy, and removing the
    parametrization from the copy deletes the property from the original too.
    """
    replica = copy.deepcopy(model)
    for module in replica.modules():
        if parametrize.is_parametrized(module):
            _own_class(module)
    return replica


@torch.no_grad()
def merge_lora(model: nn.Module) -> dict[str, torch.Tensor]:
    """Bake every update into its weight (``W ← W + ΔW``) and remove the adapters.

    Returns ``{layer name: ΔW}``, which ``unmerge_lora`` subtracts again.
    """
    deltas = {}
    for name, lora in lora_modules(model).items():
        deltas[name] = lora.delta().detach().clone()
        module = model.get_submodule(name)
        _own_class(module)  # leave any deep copies of this model intact (see clone)
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return deltas


@torch.no_grad()
def unmerge_lora(model: nn.Module, deltas: dict[str, torch.Tensor]) -> None:
    """Undo ``merge_lora``: subtract each ΔW, giving back the base model's weights."""
    for name, delta in deltas.items():
        weight = model.get_submodule(name).weight
        if weight.shape != delta.shape:
            raise ValueError(f"{name}: weight {tuple(weight.shape)} does not match ΔW {tuple(delta.shape)}")
        weight -= delta
