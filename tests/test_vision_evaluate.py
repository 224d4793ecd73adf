"""genlab.vision's evaluation helpers and patchify (10_clip's references): zero-shot weights and
predictions, recall@k, the training step, patches."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from genlab.vision import (PatchEmbedding, build_clip, contrastive_loss, patchify, recall_at_k, train_step,
                           zero_shot_predict, zero_shot_weights)


def test_patchify_is_the_conv_patch_embedding_on_flattened_patches():
    x = torch.randn(2, 3, 8, 12)
    conv = PatchEmbedding(3, 5, 4)
    p = patchify(x, 4)
    assert p.shape == (2, 6, 48)
    assert torch.equal(p[:, 4], x[:, :, 4:8, 4:8].reshape(2, -1))      # row by row, channel first
    with torch.no_grad():
        assert torch.allclose(p @ conv.weight.reshape(5, -1).t(), conv(x), atol=1e-5)
    with pytest.raises(ValueError, match="multiple"):
        patchify(torch.zeros(1, 3, 10, 8), 4)


def test_zero_shot_weights_normalise_each_prompt_then_the_mean():
    f = torch.randn(3, 5, 4)
    f[0] *= 100                                       # a long template must not outvote the others
    w = zero_shot_weights(f)
    assert w.shape == (5, 4) and torch.allclose(w.norm(dim=-1), torch.ones(5))
    assert torch.allclose(w, zero_shot_weights(F.normalize(f, dim=-1)), atol=1e-6)
    assert torch.allclose(zero_shot_weights(f[:1]), F.normalize(f[0], dim=-1))
    assert torch.allclose(zero_shot_weights(f[0]), F.normalize(f[0], dim=-1))   # (classes, D): one template
    x = torch.randn(7, 4)
    assert torch.equal(zero_shot_predict(x, w), (F.normalize(x, dim=-1) @ w.t()).argmax(-1))
    with pytest.raises(ValueError):
        zero_shot_predict(torch.randn(7, 3), w)


def test_recall_at_k_counts_items_strictly_above_the_right_one():
    S = torch.tensor([[0.9, 0.1, 0.3, 0.2], [0.8, 0.5, 0.1, 0.0], [0.2, 0.7, 0.4, 0.6], [0.1, 0.2, 0.3, 0.25]])
    assert [recall_at_k(S, k) for k in (1, 2, 3, 10)] == [0.25, 0.75, 1.0, 1.0]
    assert recall_at_k(S.t(), 1) == 0.5                                  # text->image: the transpose
    assert recall_at_k(torch.eye(3, 5), 1) == 1.0                         # more items than queries
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            recall_at_k(S, bad)
    with pytest.raises(ValueError):
        recall_at_k(torch.eye(5, 3), 1)


def test_train_step_clears_stale_gradients_and_moves_the_temperature():
    torch.manual_seed(0)
    model = build_clip("tiny", vocab_size=20, context_length=8, embed_dim=8, vision_width=8, vision_layers=1,
                       vision_heads=2, transformer_width=8, transformer_heads=2)
    twin = copy.deepcopy(model)
    images, texts = torch.rand(4, 3, 32, 32), torch.randint(1, 19, (4, 8))
    texts[:, -1] = 19
    opt, twin_opt = torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(twin.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    before = model.logit_scale.item()
    loss = train_step(model, opt, images, texts)
    assert isinstance(loss, float)
    twin_opt.zero_grad()
    expected = contrastive_loss(twin.encode_image(images), twin.encode_text(texts), twin.scale())
    expected.backward()
    twin_opt.step()
    assert loss == pytest.approx(expected.item(), abs=1e-6)
    assert model.logit_scale.item() != before
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
