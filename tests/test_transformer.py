"""The library's one Transformer block (genlab.nn.transformer), shared by GPT, Netformer and CLIP."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genlab.generative import gpt
from genlab.nn.transformer import MLP, Block, SelfAttention, Transformer, attention, quick_gelu


def test_attention_without_mask_equals_sdpa_and_with_causal_matches_gpt():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8, generator=g) for _ in range(3))
    torch.testing.assert_close(attention(q, k, v, causal=False), F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(attention(q, k, v), gpt.causal_attention(q, k, v))


def test_key_padding_mask_equals_dropping_the_pad_keys():
    torch.manual_seed(0)
    for causal in (False, True):
        attn = SelfAttention(16, 4, causal=causal).eval()
        x = torch.randn(1, 6, 16)
        keep = torch.tensor([[True, True, True, True, False, False]])
        fused = attn(x, keep)
        explicit, w = attn(x, keep, return_weights=True)
        torch.testing.assert_close(fused, explicit, atol=1e-6, rtol=1e-5)   # one maths, two code paths
        assert (w[..., 4:] == 0).all()                                      # nobody attends PAD
        torch.testing.assert_close(fused[:, :4], attn(x[:, :4]), atol=1e-6, rtol=1e-5)


def test_bidirectional_block_sees_the_future_and_causal_does_not():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16)
    later = x.clone()
    later[:, 4] = torch.randn(2, 16)   # (a constant shift would vanish in the LayerNorm)
    causal, bidirectional = Block(16, 2), Block(16, 2, causal=False)
    torch.testing.assert_close(causal(x)[:, :4], causal(later)[:, :4])
    assert not torch.allclose(bidirectional(x)[:, :4], bidirectional(later)[:, :4])


def test_names_activation_and_gpt_thin_names():
    block = Block(16, 2, activation="quick_gelu")
    names = {n for n, _ in block.named_parameters()}
    assert names == {f"{m}.{p}" for m in ("ln1", "ln2", "attn.q_proj", "attn.k_proj", "attn.v_proj",
                                          "attn.out_proj", "mlp.fc", "mlp.proj") for p in ("weight", "bias")}
    x = torch.randn(5)
    torch.testing.assert_close(quick_gelu(x), x * torch.sigmoid(1.702 * x))
    mlp, h = block.mlp, torch.randn(3, 16)
    torch.testing.assert_close(mlp(h), mlp.proj(quick_gelu(mlp.fc(h))))
    config = gpt.GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16)
    assert isinstance(gpt.Block(config), Block) and gpt.Block(config).attn.causal
    assert set(gpt.Block(config).state_dict()) == set(block.state_dict())
    assert len(Transformer(16, 3, 2).resblocks) == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match="must be divisible by heads"):
        SelfAttention(10, 3)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(8, activation="relu")
    with pytest.raises(ValueError, match="mask must be boolean"):
        SelfAttention(8, 2)(torch.randn(1, 3, 8), torch.ones(1, 3))
