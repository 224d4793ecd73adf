"""ViT and CLIP (genlab.vision): sizes, shapes, pooling, masks, temperature, loss, and OpenAI checkpoints."""
from __future__ import annotations

import math
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab.nn import count_parameters
from genlab.vision import (CLIPConfig, PatchEmbedding, build_clip, contrastive_loss, conv_stem, from_openai_state_dict,
                           load_clip_checkpoint, openai_config, to_openai_state_dict)


def _tiny(name: str = "tiny", **changes):
    torch.manual_seed(0)
    return build_clip(name, **changes).eval()


def _texts(n: int = 3, length: int = 12, eot_at=(5, 8, 11), vocab: int = 64, seed: int = 0) -> torch.Tensor:
    """Captions in OpenAI's convention: words < EOT = vocab - 1 (the highest id), then 0-padding."""
    g = torch.Generator().manual_seed(seed)
    texts = torch.zeros(n, length, dtype=torch.long)
    for i, end in enumerate(eot_at[:n]):
        texts[i, :end] = torch.randint(1, vocab - 1, (end,), generator=g)
        texts[i, end] = vocab - 1
    return texts


# ---------------------------------------------------------------- sizes

def test_openai_presets_have_openai_parameter_counts():
    """OpenAI's clip/model.py built with these hyper-parameters has exactly these counts."""
    with torch.device("meta"):          # nothing is allocated
        b32, b16 = build_clip("ViT-B/32"), build_clip("ViT-B/16")
    assert count_parameters(b32) == 151_277_313
    assert count_parameters(b16) == 149_620_737
    assert b32.visual.conv1.weight.shape == (768, 3, 32, 32) and b32.visual.positional_embedding.shape == (50, 768)
    assert b32.config.image_heads == 12 and b32.config.activation == "quick_gelu"


def test_course_presets_are_small():
    assert 230_000 < count_parameters(_tiny("tiny")) < 250_000          # "~0.24 M parameters"
    plain = _tiny("tiny-plain")
    assert plain.visual.stem is None and plain.visual.conv1.weight.shape == (64, 3, 8, 8)
    with pytest.raises(ValueError, match="unknown CLIP preset 'ViT-H/14'"):
        build_clip("ViT-H/14")


# ---------------------------------------------------------------- the image tower

def test_patch_embedding_is_one_linear_map_of_flattened_patches():
    torch.manual_seed(0)
    embed = PatchEmbedding(3, 10, 4)
    x = torch.randn(2, 3, 8, 12)
    out = embed(x)
    assert out.shape == (2, 6, 10)                                  # (8/4)·(12/4) patches, row by row
    patches = F.unfold(x, kernel_size=4, stride=4).transpose(1, 2)  # (B, N, 3·4·4)
    torch.testing.assert_close(out, patches @ embed.weight.flatten(1).t(), atol=1e-5, rtol=1e-5)


def test_conv_stem_shrinks_by_the_patch_size():
    stem = conv_stem(64, 8)
    assert stem(torch.randn(2, 3, 32, 32)).shape == (2, 64, 4, 4)
    assert [m.out_channels for m in stem if isinstance(m, nn.Conv2d)] == [16, 32, 64]
    with pytest.raises(ValueError, match="power-of-two patch_size"):
        conv_stem(64, 6)


@pytest.mark.parametrize("name", ["tiny", "tiny-plain"])
def test_encoders_and_logits_shapes(name):
    model = _tiny(name)
    images, texts = torch.randn(4, 3, 32, 32), _texts()
    assert model.encode_image(images).shape == (4, 64)
    assert model.encode_text(texts).shape == (3, 64)
    assert model.encode_text(texts[:, :9]).shape == (3, 64)         # shorter than context_length
    per_image, per_text = model(images, texts)
    assert per_image.shape == (4, 3) and torch.equal(per_text, per_image.t())
    assert per_image.abs().max() <= model.scale() + 1e-4              # scaled cosines


def test_image_tower_is_bidirectional():
    model = _tiny("tiny-plain")
    images = torch.randn(1, 3, 32, 32)
    changed = images.clone()
    changed[..., 24:, 24:] = torch.randn(1, 3, 8, 8)                  # only the last patch
    assert not torch.allclose(model.encode_image(images), model.encode_image(changed))


# ---------------------------------------------------------------- the text tower

def test_text_transformer_is_causal():
    model = _tiny()
    x = torch.randn(2, 10, 64)
    later = x.clone()
    later[:, 7] = torch.randn(2, 64)
    a, b = model.transformer(x), model.transformer(later)
    torch.testing.assert_close(a[:, :7], b[:, :7])
    assert not torch.allclose(a[:, 7:], b[:, 7:])


def test_eot_pooling_reads_the_end_of_text_position():
    model = _tiny()
    texts = _texts()
    features = model.encode_text(texts)
    after = texts.clone()
    after[0, 6:] = 7                                        # after EOT (still below EOT's id)
    torch.testing.assert_close(model.encode_text(after), features)
    before = texts.clone()
    before[0, 4] = (before[0, 4] % 60) + 1                  # inside the caption
    assert not torch.allclose(model.encode_text(before)[0], features[0])
    assert torch.allclose(model.encode_text(before)[1:], features[1:])
    # by hand: the transformer's output at position 5, normalised and projected
    x = model.transformer(model.token_embedding(texts[:1]) + model.positional_embedding[:12])
    torch.testing.assert_close(features[:1], model.ln_final(x[:, 5]) @ model.text_projection)


def test_explicit_eot_token_pools_at_its_first_occurrence():
    torch.manual_seed(0)
    model = build_clip("tiny", eot_token=2).eval()
    texts = torch.tensor([[1, 9, 5, 2, 0, 0], [1, 4, 2, 2, 0, 0]])
    after = texts.clone()
    after[:, 4:] = 63                                      # ids above EOT after it: argmax would move
    torch.testing.assert_close(model.encode_text(after), model.encode_text(texts))
    with pytest.raises(ValueError, match="end-of-text token 2"):
        model.encode_text(torch.tensor([[1, 9, 5, 3]]))


# ---------------------------------------------------------------- temperature and loss

def test_logit_scale_starts_at_one_over_0_07_and_is_clamped_at_100():
    model = _tiny()
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert model.scale().item() == pytest.approx(1 / 0.07)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    assert model.scale().item() == pytest.approx(100.0)
    model.scale().backward()
    assert model.logit_scale.grad.item() == 0.0            # past the bound it stops moving


def test_contrastive_loss_matches_a_hand_computation_and_is_symmetric():
    img = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]])
    txt = torch.tensor([[3.0, 4.0], [1.0, 0.0], [-1.0, 1.0]])
    scale = 5.0
    unit = lambda v: [[c / math.hypot(*x) for c in x] for x in v.tolist()]
    cos = [[sum(a * b for a, b in zip(i, t)) for t in unit(txt)] for i in unit(img)]
    rows = [-math.log(math.exp(scale * cos[i][i]) / sum(math.exp(scale * c) for c in cos[i])) for i in range(3)]
    cols = [-math.log(math.exp(scale * cos[j][j]) / sum(math.exp(scale * cos[i][j]) for i in range(3)))
            for j in range(3)]
    expected = (sum(rows) / 3 + sum(cols) / 3) / 2
    assert contrastive_loss(img, txt, scale).item() == pytest.approx(expected, rel=1e-5)
    assert contrastive_loss(txt, img, torch.tensor(scale)).item() == pytest.approx(expected, rel=1e-5)
    assert contrastive_loss(3 * img, txt, scale).item() == pytest.approx(expected, rel=1e-5)  # cosine: scale-free
    assert contrastive_loss(img, img.flip(0), scale).item() != pytest.approx(contrastive_loss(img, img, scale).item())


def test_contrastive_loss_extremes():
    eye = torch.eye(8)
    assert contrastive_loss(eye, 2 * eye, 100.0).item() < 1e-6             # a perfect match, sharp softmax
    same = torch.ones(8, 4)
    assert contrastive_loss(same, same, 10.0).item() == pytest.approx(math.log(8))   # no information: ln N


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="same shape"):
        contrastive_loss(torch.randn(4, 8), torch.randn(3, 8), 10.0)
    with pytest.raises(ValueError, match="logit_scale must be one number > 0"):
        contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), 0.0)
    with pytest.raises(ValueError, match="must be divisible by vision_heads"):
        CLIPConfig(vision_width=96, vision_heads=5)
    with pytest.raises(ValueError, match="vision_stem must be None or 'conv'"):
        CLIPConfig(vision_stem="resnet")
    with pytest.raises(ValueError, match="activation must be one of"):
        CLIPConfig(activation="relu")
    with pytest.raises(ValueError, match="vision_layers must be an int >= 1"):
        CLIPConfig(vision_layers=0)
    with pytest.raises(ValueError, match="multiple of patch_size"):
        build_clip("tiny-plain", image_resolution=30)
    model = _tiny()
    with pytest.raises(ValueError, match=r"images must be a \(batch, 3, 32, 32\) tensor"):
        model.encode_image(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match="int64 tensor"):
        model.encode_text(_texts().float())
    with pytest.raises(ValueError, match="context_length=16"):
        model.encode_text(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 64\)"):
        model.encode_text(torch.full((1, 4), 64))
    with pytest.raises(ValueError, match="not a ViT CLIP checkpoint"):
        load_clip_checkpoint({"text_projection": torch.zeros(4, 4)})
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_clip_checkpoint("no/such/ViT-B-32.pt")


# ---------------------------------------------------------------- OpenAI checkpoints

class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class RefBlock(nn.Module):
    """OpenAI's ResidualAttentionBlock: fused nn.MultiheadAttention, (L, N, D) tensors."""

    def __init__(self, d, heads, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.attn_mask = attn_mask                     # a plain attribute: not in the state dict

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class RefTransformer(nn.Module):
    def __init__(self, d, layers, heads, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[RefBlock(d, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class RefVisual(nn.Module):
    def __init__(self, resolution, patch, d, layers, heads, out):
        super().__init__()
        self.conv1 = nn.Conv2d(3, d, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(d))
        self.positional_embedding = nn.Parameter(torch.randn((resolution // patch) ** 2 + 1, d))
        self.ln_pre = nn.LayerNorm(d)
        self.transformer = RefTransformer(d, layers, heads)
        self.ln_post = nn.LayerNorm(d)
        self.proj = nn.Parameter(torch.randn(d, out))

    def forward(self, x):
        x = self.conv1(x).reshape(x.shape[0], self.conv1.out_channels, -1).permute(0, 2, 1)
        x = torch.cat([self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1]), x], dim=1)
        x = self.ln_pre(x + self.positional_embedding).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class RefCLIP(nn.Module):
    """A minimal, independent model in OpenAI CLIP's layout (its clip/model.py, ViT towers only)."""

    def __init__(self, embed=32, resolution=32, v_layers=2, v_width=128, patch=8, context=8, vocab=40,
                 t_width=128, t_heads=2, t_layers=2):
        super().__init__()
        self.visual = RefVisual(resolution, patch, v_width, v_layers, v_width // 64, embed)
        mask = torch.full((context, context), float("-inf")).triu(1)
        self.transformer = RefTransformer(t_width, t_layers, t_heads, mask)
        self.token_embedding = nn.Embedding(vocab, t_width)
        self.positional_embedding = nn.Parameter(torch.randn(context, t_width))
        self.ln_final = nn.LayerNorm(t_width)
        self.text_projection = nn.Parameter(torch.randn(t_width, embed))
        self.logit_scale = nn.Parameter(torch.tensor(3.0))

    def encode_image(self, images):
        return self.visual(images)

    def encode_text(self, texts):
        x = (self.token_embedding(texts) + self.positional_embedding).permute(1, 0, 2)
        x = self.ln_final(self.transformer(x).permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), texts.argmax(dim=-1)] @ self.text_projection

    def forward(self, images, texts):
        i, t = F.normalize(self.encode_image(images), dim=-1), F.normalize(self.encode_text(texts), dim=-1)
        logits = self.logit_scale.exp() * i @ t.t()
        return logits, logits.t()


def _reference() -> RefCLIP:
    torch.manual_seed(0)
    ref = RefCLIP().eval()
    with torch.no_grad():                 # random everything, LayerNorm gains and all biases too
        for name, p in ref.named_parameters():
            if name != "logit_scale":
                p.copy_(0.1 * torch.randn_like(p) + (1.0 if ".ln" in f".{name}" and name.endswith("weight") else 0.0))
    return ref


def _reference_inputs():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1)), _texts(3, 8, (3, 5, 7), vocab=40)


def _assert_same_outputs(ours, ref, images, texts):
    with torch.no_grad():
        torch.testing.assert_close(ours.encode_image(images), ref.encode_image(images), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours.encode_text(texts), ref.encode_text(texts), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours(images, texts)[0], ref(images, texts)[0], atol=1e-5, rtol=1e-5)


def test_openai_layout_checkpoint_loads_and_matches_the_reference(tmp_path):
    ref = _reference()
    path = tmp_path / "openai-layout.pt"
    torch.save(ref.state_dict(), path)
    model = load_clip_checkpoint(path)
    c = model.config
    assert (c.embed_dim, c.image_resolution, c.vision_patch_size, c.vision_width, c.vision_layers) == (32, 32, 8, 128, 2)
    assert (c.context_length, c.vocab_size, c.transformer_width, c.transformer_layers) == (8, 40, 128, 2)
    assert c.image_heads == 2 and c.transformer_heads == 2 and c.activation == "quick_gelu"   # OpenAI's rules
    _assert_same_outputs(model, ref, *_reference_inputs())
    half = load_clip_checkpoint({k: v.half() for k, v in ref.state_dict().items()})   # OpenAI ships fp16
    assert all(p.dtype == torch.float32 for p in half.parameters())
    loaded = load_clip_checkpoint(ref.state_dict())             # a copy: training it leaves ref alone
    with torch.no_grad():
        loaded.logit_scale.add_(1.0)
        loaded.transformer.resblocks[0].attn.q_proj.weight.zero_()
    assert ref.logit_scale.item() == 3.0 and ref.transformer.resblocks[0].attn.in_proj_weight.abs().sum() > 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # torch.jit is deprecated; OpenAI's files are TorchScript
def test_torchscript_archive_loads_too(tmp_path):
    ref = _reference()
    images, texts = _reference_inputs()
    path = tmp_path / "jit.pt"
    torch.jit.save(torch.jit.trace(ref, (images, texts), check_trace=False), str(path))
    _assert_same_outputs(load_clip_checkpoint(path), ref, images, texts)


def test_to_openai_state_dict_round_trips_keys_shapes_and_outputs():
    ref = _reference()
    ours = load_clip_checkpoint(ref.state_dict())
    theirs = to_openai_state_dict(ours)
    assert {k: v.shape for k, v in theirs.items()} == {k: v.shape for k, v in ref.state_dict().items()}
    assert all(torch.equal(theirs[k], v) for k, v in ref.state_dict().items())
    assert {k: v.shape for k, v in from_openai_state_dict(theirs).items()} == \
        {k: v.shape for k, v in ours.state_dict().items()}
    model = _tiny("tiny")                                       # our own conv-stem model, 4 heads, GELU
    config = openai_config(to_openai_state_dict(model), vision_heads=4, transformer_heads=4, activation="gelu")
    assert config == model.config
    again = load_clip_checkpoint(to_openai_state_dict(model), vision_heads=4, transformer_heads=4, activation="gelu")
    images, texts = torch.randn(2, 3, 32, 32), _texts(2)
    torch.testing.assert_close(again(images, texts)[0], model(images, texts)[0])
