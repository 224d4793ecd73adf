"""The character GPT's model and sampling (genlab.generative.gpt); its training is in test_gpt_train.py."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from genlab.generative.gpt import (GPT, Block, CausalSelfAttention, GPTConfig, PostNormBlock, causal_attention,
                                   next_token_probs, with_blocks)
from genlab.nn import count_parameters

SMALL = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=16)


def test_causal_attention_equals_scaled_dot_product_attention():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 9, 8, generator=g) for _ in range(3))
    out, weights = causal_attention(q, k, v, return_weights=True)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert weights.shape == (2, 3, 9, 9)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 9))
    assert (weights.triu(1) == 0).all()  # nothing attends to the future


def test_attention_module_explicit_and_fused_paths_agree():
    """Training takes the fused kernel, return_weights the written-out causal_attention: one function."""
    torch.manual_seed(0)
    attn = CausalSelfAttention(SMALL)
    names = {n for n, _ in attn.named_children()}
    assert {"q_proj", "k_proj", "v_proj", "out_proj"} <= names  # 05_lora targets these by name
    x = torch.randn(3, 7, SMALL.n_embd)
    fused = attn(x)
    explicit, w = attn(x, return_weights=True)
    torch.testing.assert_close(fused, explicit, atol=1e-6, rtol=1e-5)
    assert w.shape == (3, SMALL.n_head, 7, 7)


def test_future_tokens_do_not_change_past_logits():
    torch.manual_seed(0)
    model = GPT(SMALL).eval()
    idx = torch.randint(0, 11, (2, 12))
    changed = idx.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 11
    a, _ = model(idx)
    b, _ = model(changed)
    torch.testing.assert_close(a[:, :8], b[:, :8])
    assert not torch.allclose(a[:, 8:], b[:, 8:])


def test_shapes_loss_and_parameter_count():
    torch.manual_seed(0)
    model = GPT(SMALL)
    idx = torch.randint(0, 11, (4, 16))
    logits, loss = model(idx)
    assert logits.shape == (4, 16, 11) and loss is None
    logits, loss = model(idx, idx)
    assert loss.ndim == 0 and abs(float(loss.detach()) - math.log(11)) < 0.3  # near-uniform at init
    assert model.lm_head.weight is model.tok_emb.weight
    default = GPT(GPTConfig(vocab_size=104))
    assert 0.4e6 < count_parameters(default) < 0.45e6  # 03's 0.42M-parameter model (tied head once)
    maps = model.attention_maps(idx[:1, :5])
    assert len(maps) == 2 and maps[0].shape == (1, 2, 5, 5)


def test_block_is_pre_norm_residual():
    torch.manual_seed(0)
    block = Block(SMALL)
    x = torch.randn(2, 5, 16)
    expected = x + block.attn(block.ln1(x))
    expected = expected + block.mlp(block.ln2(expected))
    torch.testing.assert_close(block(x), expected)


def test_post_norm_block_normalises_the_residual_stream():
    torch.manual_seed(0)
    block = PostNormBlock(SMALL)
    x = 5 * torch.randn(2, 5, 16)
    h = block.ln1(x + block.attn(x))
    torch.testing.assert_close(block(x), block.ln2(h + block.mlp(h)))
    out = block(x)   # the stream leaves every block normalised (LayerNorm's gain 1, bias 0 at the start)
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 5), atol=1e-5, rtol=0)
    model = with_blocks(GPT(SMALL), PostNormBlock)   # same parameter names: the same initial weights
    assert all(isinstance(b, PostNormBlock) for b in model.blocks)


def test_next_token_probs_temperature_and_top_k():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, 0.0]])
    torch.testing.assert_close(next_token_probs(logits), logits.softmax(-1))
    torch.testing.assert_close(next_token_probs(logits, temperature=0.5), (logits / 0.5).softmax(-1))
    p = next_token_probs(logits, top_k=2)
    assert (p > 0).sum() == 2 and p[0, :2].sum() == pytest.approx(1.0)
    torch.testing.assert_close(p[0, :2], logits[0, :2].softmax(-1))
    cold = next_token_probs(logits, temperature=1e-3)
    assert cold[0, 0] == pytest.approx(1.0)


def test_generate_respects_top_k_and_is_seeded():
    torch.manual_seed(0)
    model = GPT(SMALL)
    prompt = torch.zeros(3, 1, dtype=torch.long)
    out = model.generate(prompt, 30, top_k=1)
    assert out.shape == (3, 31)
    # top_k = 1 is greedy: it equals the arg-max continuation
    idx = prompt
    for _ in range(30):
        idx = torch.cat([idx, model(idx[:, -16:])[0][:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(out, idx)
    a = model.generate(prompt, 20, temperature=1.5, generator=torch.Generator().manual_seed(1))
    b = model.generate(prompt, 20, temperature=1.5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert model.generate(prompt, 40).shape == (3, 41)  # longer than block_size: the context is cropped


def test_sampled_tokens_stay_in_the_top_k():
    torch.manual_seed(0)
    model = GPT(SMALL)
    prompt = torch.zeros(200, 1, dtype=torch.long)
    logits = model(prompt)[0][:, -1]
    allowed = set(torch.topk(logits[0], 3).indices.tolist())
    nxt = model.generate(prompt, 1, top_k=3, generator=torch.Generator().manual_seed(0))[:, 1]
    assert set(nxt.tolist()) <= allowed and len(set(nxt.tolist())) > 1


@pytest.mark.parametrize("make, message", [
    (lambda: GPTConfig(vocab_size=10, n_embd=30, n_head=4), r"n_embd \(30\) must be divisible by n_head \(4\)"),
    (lambda: GPTConfig(vocab_size=0), "vocab_size must be a positive int"),
    (lambda: GPTConfig(vocab_size=10, dropout=1.0), r"dropout must lie in \[0, 1\)"),
    (lambda: GPT(SMALL)(torch.zeros(1, 17, dtype=torch.long)), "longer than block_size 16"),
    (lambda: GPT(SMALL)(torch.zeros(1, 4)), "idx must be a .* tensor of int64 token ids"),
    (lambda: GPT(SMALL)(torch.full((1, 4), 11)), r"token ids must lie in \[0, 11\)"),
    (lambda: GPT(SMALL)(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long)),
     "targets must have idx's shape"),
    (lambda: next_token_probs(torch.zeros(1, 5), temperature=0.0), "temperature must be > 0"),
    (lambda: next_token_probs(torch.zeros(1, 5), top_k=0), "top_k must be None or >= 1"),
    (lambda: GPT(SMALL).generate(torch.zeros(1, 0, dtype=torch.long), 5), "time >= 1 \\(a prompt\\)"),
    (lambda: GPT(SMALL).generate(torch.zeros(1, 2, dtype=torch.long), -1), "max_new_tokens must be >= 0"),
])
def test_clear_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_with_blocks_keeps_the_weights_and_sample_is_generate():
    from genlab.generative.gpt import sample, with_blocks

    torch.manual_seed(0)
    model = GPT(SMALL)
    idx = torch.randint(0, SMALL.vocab_size, (2, 10))
    before = model(idx)[0]
    made = []

    def make(config):
        made.append(Block(config))
        return made[-1]

    assert with_blocks(model, make) is model and list(model.blocks) == made and len(made) == SMALL.n_layer
    torch.testing.assert_close(model(idx)[0], before, rtol=0, atol=0)
    prompt = torch.zeros(3, 2, dtype=torch.long)
    a = sample(model, prompt, 25, lambda z: next_token_probs(z, 0.7, 4), torch.Generator().manual_seed(5))
    b = model.generate(prompt, 25, 0.7, 4, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.shape == (3, 27)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 0"):
        sample(model, prompt, -1)


def test_top_p_keeps_the_smallest_nucleus():
    from genlab.generative.gpt import top_p_probs

    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]).log_softmax(-1)
    p = logits.exp()
    out = top_p_probs(logits, 0.8)
    assert ((out > 0).sum(-1) == torch.tensor([2, 4])).all()   # 0.64 + 0.24 >= 0.8; 4 of 5 uniform tokens
    torch.testing.assert_close(out[0, :2], p[0, :2] / p[0, :2].sum())
    torch.testing.assert_close(top_p_probs(logits, 1.0), p)
    assert ((top_p_probs(logits, 1e-6) > 0).sum(-1) == 1).all()
    with pytest.raises(ValueError, match=r"top_p must lie in \(0, 1\]"):
        top_p_probs(logits, 0.0)


def test_sample_cached_matches_sample_inside_the_context():
    from genlab.generative.gpt import sample, sample_cached, with_blocks

    torch.manual_seed(0)
    model = GPT(SMALL)
    prompt = torch.randint(0, SMALL.vocab_size, (3, 4))
    greedy = lambda z: next_token_probs(z, top_k=1)
    torch.testing.assert_close(sample_cached(model, prompt, 12, greedy), sample(model, prompt, 12, greedy), rtol=0, atol=0)
    a = sample_cached(model, prompt, 12, generator=torch.Generator().manual_seed(2))
    b = sample(model, prompt, 12, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    with_blocks(model, Block)   # any block with the library's parameter names
    assert torch.equal(sample_cached(model, prompt, 12, greedy), sample(model, prompt, 12, greedy))
    with pytest.raises(ValueError, match="exceeds block_size 16"):
        sample_cached(model, prompt, 13)


def test_sample_names_a_generator_on_the_wrong_device():
    from genlab.generative.gpt import sample, sample_cached

    model = GPT(SMALL).to("meta")
    prompt = torch.zeros(1, 2, dtype=torch.long, device="meta")
    for fn in (sample, sample_cached):
        with pytest.raises(ValueError, match="the generator lives on cpu but the model on meta"):
            fn(model, prompt, 3, generator=torch.Generator())
