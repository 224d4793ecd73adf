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


def _tiny_gpt():
    from genlab.generative.gpt import GPT, GPTConfig
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0))


def test_train_adapter_is_finetune_gpt_on_the_adapters():
    from genlab.generative.gpt_train import finetune_batches, finetune_gpt, finetune_lrs
    from genlab.generative.lora import train_adapter
    ids = torch.randint(0, 11, (400,), generator=torch.Generator().manual_seed(1))
    ours, theirs = _tiny_gpt(), _tiny_gpt()
    torch.manual_seed(5)
    names, losses = train_adapter(ours, ("q_proj", "fc"), finetune_batches(ids, 7, batch_size=4, block_size=8, seed=3),
                                  finetune_lrs(7, 3e-2), rank=2, alpha=4.0)
    torch.manual_seed(5)
    add_lora(theirs, ("q_proj", "fc"), rank=2, alpha=4.0)
    history = finetune_gpt(theirs, ids, ids, max_steps=7, batch_size=4, lr=3e-2, eval_every=7, seed=3, progress=False)
    assert names == ["blocks.0.attn.q_proj", "blocks.0.mlp.fc", "blocks.1.attn.q_proj", "blocks.1.mlp.fc"]
    assert len(losses) == 7 and all(isinstance(v, float) for v in losses)
    assert abs(sum(losses) / 7 - history["train_loss"][-1]) < 1e-6
    for (n, p), q in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert torch.equal(p, q), n
    assert not ours.training


def test_train_adapter_changes_only_the_adapters_and_checks_its_arguments():
    from genlab.generative.gpt_train import finetune_batches, finetune_lrs
    from genlab.generative.lora import train_adapter
    ids = torch.randint(0, 11, (200,), generator=torch.Generator().manual_seed(1))
    model, base = _tiny_gpt(), _tiny_gpt()
    train_adapter(model, ("v_proj",), finetune_batches(ids, 3, batch_size=2, block_size=8), [1e-2] * 3, rank=1)
    before = {n.replace(".weight", ".parametrizations.weight.original"): p for n, p in base.state_dict().items()}
    before.update(base.state_dict())
    changed = {n for n, p in model.state_dict().items() if n not in before or not torch.equal(p, before[n])}
    assert changed == {f"blocks.{i}.attn.v_proj.parametrizations.weight.0.{f}" for i in range(2) for f in "AB"}
    with pytest.raises(ValueError, match="one learning rate per batch"):
        train_adapter(_tiny_gpt(), ("v_proj",), finetune_batches(ids, 3, batch_size=2, block_size=8), [1e-2] * 2)
    assert finetune_lrs(4, 1.0, warmup=0.25)[:2] == [0.0, 1.0]


def test_adapters_follow_the_weights_device_and_dtype():
    model = _model().double().to("meta")
    add_lora(model, ("q_proj",), rank=2)
    lora = lora_modules(model)["q_proj"]
    assert lora.A.device.type == "meta" and lora.B.dtype == torch.float64


def _generators_without_device(source: str) -> list[str]:
    """Every ``torch.Generator(...)`` without a ``device=`` that reaches a ``generator=`` argument."""
    import ast
    tree = ast.parse(source)
    made = {}   # name -> the Generator call it was assigned from

    def generator_call(node):
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "manual_seed":
            node = node.func.value
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "Generator":
            return node
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            call = generator_call(node.value)
            if call is not None:
                made[node.targets[0].id] = call
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg != "generator":
                    continue
                call = made.get(kw.value.id) if isinstance(kw.value, ast.Name) else generator_call(kw.value)
                if call is not None and not any(k.arg == "device" for k in call.keywords) and not call.args:
                    bad.append(ast.unparse(node)[:120])
    return bad


def test_the_generator_lint_sees_a_cpu_generator():
    assert _generators_without_device("m.generate(x, 5, generator=torch.Generator().manual_seed(0))")
    assert _generators_without_device("g = torch.Generator()\nm.generate(x, 5, generator=g)")
    assert not _generators_without_device("g = torch.Generator(device=device).manual_seed(1)\nm.generate(x, 5, generator=g)")


def test_05_samples_with_a_generator_on_the_models_device():
    """05 ran ``generate(..., generator=torch.Generator())`` on the model's device: on a GPU,
    torch.multinomial refuses a CPU generator for CUDA probabilities (a CPU run cannot show it,
    and a 'meta' model ignores the generator), so the notebook's code is read instead."""
    import nbformat
    from genlab.course import repo_root
    nb = nbformat.read(repo_root() / "solutions" / "05_lora" / "05_lora.ipynb", as_version=4)
    cells = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and "generator=" in c.source)
    assert "generate(" in cells
    assert not _generators_without_device(cells)
