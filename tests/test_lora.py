"""LoRA (genlab.generative.lora) on a tiny attention-like model."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import copy

from genlab.generative.lora import LoRA, add_lora, clone, lora_modules, lora_state_dict, merge_lora, unmerge_lora
from genlab.nn import count_parameters
from torch.nn.utils import parametrize


class Tiny(nn.Module):
    def __init__(self, d: int = 32):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.head = nn.Linear(d, 5)

    def forward(self, x):
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        att = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
        return self.head(att @ v)


def _model() -> Tiny:
    torch.manual_seed(0)
    return Tiny()


def _train_a_little(model: nn.Module, x: torch.Tensor) -> None:
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(5):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_adapted_model_starts_as_the_base_and_only_trains_adapters():
    base, model = _model(), _model()
    x = torch.randn(4, 6, 32)
    names = add_lora(model, ("q_proj", "v_proj"), rank=4, alpha=8)
    assert names == ["q_proj", "v_proj"]
    assert torch.equal(model(x), base(x))  # B = 0
    trainable, total = count_parameters(model, trainable_only=True), count_parameters(model)
    assert trainable == 2 * 4 * (32 + 32)   # A and B of each adapter count once, as trainable
    assert total == sum(p.numel() for p in base.parameters()) + trainable
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    _train_a_little(model, x)
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if not p.requires_grad)
    assert not torch.allclose(model(x), base(x))
    assert lora_modules(model)["q_proj"].scale == 2.0


def test_merge_gives_the_same_logits_and_unmerge_gives_back_the_base():
    base, model = _model(), _model()
    x = torch.randn(4, 6, 32)
    add_lora(model, rank=4)
    _train_a_little(model, x)
    adapted = model(x).detach()
    saved = lora_state_dict(model)
    assert set(saved) == {"q_proj.A", "q_proj.B", "v_proj.A", "v_proj.B"}
    deltas = merge_lora(model)
    assert not lora_modules(model)  # plain Linear layers again
    assert (model(x) - adapted).abs().max() <= 1e-5
    unmerge_lora(model, deltas)
    for name in ("q_proj", "v_proj"):
        assert torch.allclose(getattr(model, name).weight, getattr(base, name).weight, atol=1e-6)
    assert torch.allclose(model(x), base(x), atol=1e-5)


def test_lora_explains_bad_arguments():
    with pytest.raises(ValueError, match="no nn.Linear named"):
        add_lora(_model(), ("c_attn",))
    with pytest.raises(ValueError, match="rank must be in"):
        LoRA(8, 8, rank=0)
    with pytest.raises(ValueError, match="rank must be in"):
        LoRA(8, 4, rank=5)
    with pytest.raises(ValueError, match="alpha"):
        LoRA(8, 8, rank=2, alpha=0)
    model = _model()
    add_lora(model, rank=2)
    deltas = merge_lora(model)
    with pytest.raises(ValueError, match="does not match"):
        unmerge_lora(model, {"q_proj": deltas["q_proj"][:3]})


def test_merging_a_copy_leaves_the_original_working():
    model = _model()
    add_lora(model, rank=2)
    x = torch.randn(2, 3, 32)
    expected = model(x).detach()
    merge_lora(copy.deepcopy(model))  # the library's merge is safe even on a plain deepcopy
    assert torch.equal(model(x), expected)
    replica = clone(model)  # ...and clone() makes any merge (torch's own) safe
    parametrize.remove_parametrizations(replica.q_proj, "weight", leave_parametrized=True)
    assert torch.equal(model(x), expected)
    broken = copy.deepcopy(model)  # what clone() protects against
    parametrize.remove_parametrizations(broken.q_proj, "weight", leave_parametrized=True)
    assert not hasattr(model.q_proj, "weight")
