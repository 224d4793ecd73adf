"""Training and scoring the character GPT (genlab.generative.gpt_train): baselines, evaluate,
train_gpt (fixed steps, warmup_cosine, a guard that only warns), finetune_gpt, the shipped base model."""
from __future__ import annotations

import math

import pytest
import torch

from genlab.course.recipes import must_rerun
from genlab.data import load_text
from genlab.generative import gpt_train
from genlab.generative.gpt import GPT, GPTConfig
from genlab.generative.gpt_train import (bigram_log_probs, bigram_loss, build_base_gpt, evaluate, finetune_gpt,
                                         load_base_gpt, train_gpt, unigram_loss)
from genlab.train import warmup_cosine

TINY = dict(block_size=32, n_layer=1, n_head=2, n_embd=32)
# The recipe with seeds 0, 1, 2 gave validation losses 1.2960, 1.2909, 1.2879 nats/char (one thread,
# 2-core x86 CPU): a rebuild with seed 0 elsewhere must land within that spread of the shipped model.
BASE_SEED_SPREAD = 0.01


@pytest.fixture(scope="module")
def text():
    return load_text()


def _recording_set_lr(monkeypatch) -> list[float]:
    """Record every learning rate the trainers set (and still set it)."""
    seen: list[float] = []
    real = gpt_train.set_lr

    def record(optimizer, lr):
        seen.append(lr)
        real(optimizer, lr)

    monkeypatch.setattr(gpt_train, "set_lr", record)
    return seen


def test_bigram_baseline_is_sane(text):
    V = text.vocab_size
    logp = bigram_log_probs(text.train_ids, V)
    torch.testing.assert_close(logp.exp().sum(1), torch.ones(V, dtype=torch.float64))
    uni = unigram_loss(text.train_ids, text.val_ids, V)
    bi = bigram_loss(text.train_ids, text.val_ids, V)
    assert bi < uni < math.log(V)
    assert 3.0 < uni < 3.5 and 2.1 < bi < 2.5
    # a deterministic sequence is learned perfectly (up to smoothing)
    ids = torch.arange(10).repeat(100)
    assert bigram_loss(ids, ids, 10, alpha=1e-6) < 1e-3


@pytest.mark.parametrize("make, message", [
    (lambda: bigram_loss(torch.arange(5), torch.arange(5), 5, alpha=0.0), "alpha must be > 0"),
    (lambda: bigram_loss(torch.arange(5), torch.arange(6), 5), r"val_ids holds ids outside \[0, 5\)"),
    (lambda: unigram_loss(torch.arange(1), torch.arange(5), 5), "train_ids must be a 1-D tensor of at least two"),
    (lambda: evaluate(GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8)), torch.arange(5)),
     "need more than block_size = 8 tokens"),
])
def test_baselines_and_evaluate_reject_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_train_gpt_learns_and_is_deterministic(text):
    config = GPTConfig(vocab_size=text.vocab_size, **TINY)
    m1, h1 = train_gpt(config, text, max_steps=60, batch_size=16, eval_every=30, progress=False)
    m2, _ = train_gpt(config, text, max_steps=60, batch_size=16, eval_every=30, progress=False)
    assert [r["step"] for r in h1.records] == [30, 60]
    assert h1.last("val_loss") < math.log(text.vocab_size) - 0.8
    assert h1.last("val_loss") == pytest.approx(evaluate(m1, text.val_ids))  # the last record uses all blocks
    assert not h1.stopped_by_budget and h1.seconds > 0
    for a, b in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_train_gpt_length_is_steps_and_a_generous_guard_changes_nothing(text):
    config = GPTConfig(vocab_size=text.vocab_size, **TINY)
    plain, _ = train_gpt(config, text, max_steps=20, batch_size=8, eval_every=20, progress=False)
    guarded, history = train_gpt(config, text, max_steps=20, batch_size=8, eval_every=20, time_budget=600,
                                 progress=False)
    assert history.last("step") == 20 and not history.stopped_by_budget
    for a, b in zip(plain.parameters(), guarded.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_train_gpt_lr_follows_warmup_cosine_by_step(text, monkeypatch):
    seen = _recording_set_lr(monkeypatch)
    config = GPTConfig(vocab_size=text.vocab_size, **TINY)
    train_gpt(config, text, max_steps=40, batch_size=4, lr=1e-3, warmup=0.1, min_ratio=0.2, eval_every=40,
              progress=False)
    assert seen == [1e-3 * warmup_cosine(s / 40, 0.1, 0.2) for s in range(40)]
    assert seen[0] == 0.0 and max(seen) == pytest.approx(1e-3) and seen[-1] == pytest.approx(2e-4, rel=0.01)


def test_train_gpt_guard_stops_warns_and_says_so(text):
    config = GPTConfig(vocab_size=text.vocab_size, **TINY)
    with pytest.warns(RuntimeWarning, match=r"GPT training stopped by its 0 s time guard after 1 of 50"):
        model, history = train_gpt(config, text, max_steps=50, batch_size=4, eval_every=10, time_budget=1e-9,
                                   progress=False)
    assert history.stopped_by_budget
    assert [r["step"] for r in history.records] == [1]
    assert history.last("val_loss") == pytest.approx(evaluate(model, text.val_ids))  # scored on every block


def test_train_gpt_rejects_bad_arguments(text):
    config = GPTConfig(vocab_size=text.vocab_size, **TINY)
    with pytest.raises(TypeError, match="max_steps"):
        train_gpt(config, text)                      # the length is a number of steps, always given
    with pytest.raises(ValueError, match="max_steps must be a positive int, got 0"):
        train_gpt(config, text, max_steps=0)
    with pytest.raises(ValueError, match="need lr > 0"):
        train_gpt(config, text, max_steps=1, lr=0.0)
    with pytest.raises(ValueError, match="config.vocab_size is 5 but the data's tokenizer has"):
        train_gpt(GPTConfig(vocab_size=5), text, max_steps=1)
    with pytest.raises(ValueError, match="a budget must be positive"):
        train_gpt(config, text, max_steps=1, time_budget=0)


def test_finetune_gpt_updates_only_trainable_parameters_with_the_schedule(monkeypatch):
    seen = _recording_set_lr(monkeypatch)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=2, n_embd=16))
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("ln_f"))
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    ids = torch.arange(11).repeat(40)
    history = finetune_gpt(model, ids, ids, max_steps=6, batch_size=4, lr=1e-2, eval_every=3, progress=False)
    assert [r["step"] for r in history.records] == [3, 6] and history.seconds > 0
    assert seen == [1e-2 * warmup_cosine(s / 6, 0.1, 0.1) for s in range(6)]
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert not torch.equal(model.ln_f.weight, torch.ones(16))
    assert not model.training


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_steps=0), "max_steps must be a positive int"),
    (dict(max_steps=2, lr=-1.0), "lr > 0"),
])
def test_finetune_gpt_rejects_bad_arguments(kwargs, message):
    model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=2, n_embd=16))
    ids = torch.arange(11).repeat(10)
    with pytest.raises(ValueError, match=message):
        finetune_gpt(model, ids, ids, **kwargs)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        finetune_gpt(model, ids, ids, max_steps=2)


def test_base_gpt_ships_with_genlab_and_loads_without_training(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("load_base_gpt trained a model: it should read the shipped weights")

    monkeypatch.setattr(gpt_train, "train_gpt", boom)
    model = load_base_gpt()
    assert gpt_train.BASE_WEIGHTS.exists() and f"v{gpt_train.BASE_VERSION}" in gpt_train.BASE_WEIGHTS.name
    assert not model.training and model.config.n_layer == gpt_train.BASE_CONFIG["n_layer"]
    assert 1.2 < evaluate(model, load_text().val_ids, max_blocks=64) < 1.45   # a trained model, not init


@pytest.mark.slow
def test_shipped_base_gpt_is_what_its_recipe_makes():
    """Re-train the base model (about 100 s on one thread) and compare with the shipped weights:
    on the machine that made them the parameters are equal; elsewhere float sums may round
    differently, so the validation loss must agree within the seed-to-seed spread. Skipped while
    the code it runs is unchanged since this test last passed (``genlab.course.recipes``)."""
    why = must_rerun("base-gpt")
    if why is None:
        pytest.skip("the base GPT's recipe code is unchanged since this test last passed (genlab/course/recipes.json)")
    print(f"re-running the base GPT's recipe: {why}")
    data = load_text()
    shipped, rebuilt = load_base_gpt(), build_base_gpt()
    same = all(torch.equal(a, b) for a, b in zip(shipped.parameters(), rebuilt.parameters()))
    gap = abs(evaluate(shipped, data.val_ids) - evaluate(rebuilt, data.val_ids))
    print(f"rebuilt base GPT: parameters equal: {same}; validation loss gap {gap:.4f} nats/char")
    assert same or gap <= BASE_SEED_SPREAD, f"validation loss differs by {gap:.4f} > {BASE_SEED_SPREAD}"


# ---------------------------------------------------------------- the pieces 03's learner writes

def test_lr_at_is_warmup_cosine_per_step():
    assert gpt_train.lr_at(0, 1000, 1e-3, warmup=0.1, min_ratio=0.1) == 0.0
    assert gpt_train.lr_at(50, 1000, 1e-3, warmup=0.1, min_ratio=0.1) == pytest.approx(5e-4)
    assert gpt_train.lr_at(100, 1000, 1e-3, warmup=0.1, min_ratio=0.1) == pytest.approx(1e-3)
    assert gpt_train.lr_at(550, 1000, 1e-3, warmup=0.1, min_ratio=0.1) == pytest.approx(5.5e-4)  # half-way down
    assert gpt_train.lr_at(1000, 1000, 1e-3, warmup=0.1, min_ratio=0.1) == pytest.approx(1e-4)
    assert gpt_train.lr_at(0, 10, 2.0, warmup=0.0) == 2.0          # no warmup: starts at the peak
    assert [gpt_train.lr_at(s, 40, 1e-3, 0.1, 0.2) for s in range(40)] == \
        [1e-3 * warmup_cosine(s / 40, 0.1, 0.2) for s in range(40)]
    with pytest.raises(ValueError, match="step must lie in"):
        gpt_train.lr_at(11, 10, 1.0)
    with pytest.raises(ValueError, match="max_steps must be a positive int"):
        gpt_train.lr_at(0, 0, 1.0)


def test_train_step_sets_every_group_clips_and_returns_a_float():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=2, n_embd=8))
    params = list(model.parameters())
    opt = torch.optim.SGD([{"params": params[:3]}, {"params": params[3:]}], lr=0.5)
    x, y = torch.randint(0, 7, (2, 8)), torch.randint(0, 7, (2, 8))
    before = [p.detach().clone() for p in params]
    loss = gpt_train.train_step(model, opt, x, y, lr=0.1, clip=1e-3)
    assert isinstance(loss, float) and [g["lr"] for g in opt.param_groups] == [0.1, 0.1]
    step = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, params)])
    assert float(step.norm()) == pytest.approx(0.1 * 1e-3, rel=1e-4)   # SGD: lr times the clipped gradient


def test_train_model_with_the_reference_pieces_is_train_gpt(text):
    config = GPTConfig(vocab_size=text.vocab_size, **TINY)
    expected, _ = train_gpt(config, text, max_steps=12, batch_size=4, eval_every=6, seed=3, progress=False)
    torch.manual_seed(3)
    model = GPT(config)
    history = gpt_train.train_model(model, text, max_steps=12, batch_size=4, eval_every=6, seed=3, progress=False)
    assert history["step"] == [6, 12] and not history.stopped_by_budget
    for a, b in zip(model.parameters(), expected.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_train_model_uses_the_schedule_and_step_it_is_given(text):
    config = GPTConfig(vocab_size=text.vocab_size, **TINY)
    seen = []

    def schedule(step, max_steps, peak, warmup, min_ratio):
        seen.append((step, max_steps, peak, warmup, min_ratio))
        return 0.0

    def step_fn(model, optimizer, x, y, lr):
        assert x.shape == y.shape == (4, TINY["block_size"]) and lr == 0.0
        return 1.5

    torch.manual_seed(0)
    history = gpt_train.train_model(GPT(config), text, max_steps=5, batch_size=4, lr=2e-3, warmup=0.2,
                                    min_ratio=0.3, eval_every=5, progress=False, schedule=schedule, step_fn=step_fn)
    assert seen == [(s, 5, 2e-3, 0.2, 0.3) for s in range(5)] and history["train_loss"] == [1.5]
    with pytest.raises(FloatingPointError, match="loss became nan"):
        gpt_train.train_model(GPT(config), text, max_steps=2, batch_size=4, progress=False,
                              step_fn=lambda *a: float("nan"))
