"""X3D (genlab.vision.x3d): the expansion rule, exact sizes and multiply-adds of the presets, the
parts' structure, a real forward pass, pytorchvideo's checkpoint layout, and the errors."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from genlab.nn import count_parameters
from genlab.vision import (PAPER, X3D_PRESETS, StageConfig, X3DFactors, build_x3d, count_macs, expand_stages,
                           load_pretrained, round_depth, round_width)
from genlab.vision.x3d import Bottleneck, SqueezeExcitation

# pytorchvideo's create_x3d(input_clip_length, input_crop_size, depth_factor) with model_num_class=400:
# sum(p.numel() for p in model.parameters()) and FlopCounterMode's total / 2 on one clip.
CREATE_X3D = {"XS": (3_794_274, 0.605), "S": (3_794_274, 1.963), "M": (3_794_274, 4.732), "L": (6_153_384, 18.368)}


def _tiny_factors(**changes) -> X3DFactors:
    """A network small enough for a real forward pass on 32×32 clips: γw = γd = 1."""
    return X3DFactors(**{"frames": 4, "stride": 1, "resolution": 32, "width": 1.0, "depth": 1.0, **changes})


# ---------------------------------------------------------------- the expansion rule

@pytest.mark.parametrize("width, multiplier, expected", [
    (12, 2.0, 24), (96, 2.0, 192),
    (54, 0.0625, 8),                 # 3.4 channels: the minimum, 8
    (432, 0.0625, 32),               # 27 → 32 (nearest multiple of 8, 28 rounds up)
    (20, 1.0, 24), (11, 1.0, 16),    # nearest multiple of 8, halves up
    (36, 1.0, 48),                   # divisor 16: 36 → 32, under 90 % of 36, so one divisor more
])
def test_round_width(width, multiplier, expected):
    divisor = 16 if width == 36 else 8
    assert round_width(width, multiplier, divisor=divisor) == expected


def test_round_depth_rounds_up():
    assert [round_depth(d, 2.2) for d in (1, 2, 5, 3)] == [3, 5, 11, 7]
    assert [round_depth(d, 5.0) for d in (1, 2, 5, 3)] == [5, 10, 25, 15]
    assert round_depth(3, 1.0) == 3


def test_expand_stages_gives_the_presets_configurations():
    xs = [StageConfig(24, 3, 54), StageConfig(48, 5, 108), StageConfig(96, 11, 216), StageConfig(192, 7, 432)]
    for name in ("XS", "S", "M"):
        assert expand_stages(X3D_PRESETS[name]) == xs
    assert expand_stages(X3D_PRESETS["L"]) == [StageConfig(24, 5, 54), StageConfig(48, 10, 108),
                                               StageConfig(96, 25, 216), StageConfig(192, 15, 432)]
    # γw = 1: X2D's widths 12, 24, 48, 96 kept; γb = 4 makes the inner width 4×
    assert expand_stages(_tiny_factors(bottleneck=4.0)) == [StageConfig(16, 1, 64), StageConfig(24, 2, 96),
                                                            StageConfig(48, 5, 192), StageConfig(96, 3, 384)]


# ---------------------------------------------------------------- sizes

@pytest.mark.parametrize("name", ["XS", "S", "M", "L"])
def test_presets_match_create_x3d_and_the_paper(name):
    with torch.device("meta"):                      # nothing allocated
        model = build_x3d(name)
    params, gmacs = CREATE_X3D[name]
    assert count_parameters(model) == params
    assert round(count_parameters(model) / 1e6, 1) == PAPER[name]["params_m"]
    measured = count_macs(model, (1, *X3D_PRESETS[name].input_shape)) / 1e9
    assert measured == pytest.approx(gmacs, rel=0.005)
    assert measured == pytest.approx(PAPER[name]["gflops"], rel=0.03)


def test_count_macs_counts_multiply_adds_and_leaves_the_model_alone():
    conv = nn.Conv3d(4, 6, (1, 3, 3), padding=(0, 1, 1), groups=2)
    assert count_macs(conv, (2, 4, 3, 5, 5)) == 2 * 6 * 3 * 5 * 5 * (4 // 2) * 9   # outputs × inputs per output
    assert conv.weight.device.type == "cpu"


def test_xs_s_m_are_one_network_with_different_inputs():
    with torch.device("meta"):
        xs, m = build_x3d("XS"), build_x3d("M")
    assert {k: v.shape for k, v in xs.state_dict().items()} == {k: v.shape for k, v in m.state_dict().items()}


# ---------------------------------------------------------------- structure

def test_the_paper_s_parts():
    with torch.device("meta"):
        model = build_x3d("XS")
    stem, head = model.blocks[0], model.blocks[5]
    assert stem.conv.conv_t.kernel_size == (1, 3, 3) and stem.conv.conv_t.stride == (1, 2, 2)
    assert stem.conv.conv_xy.kernel_size == (5, 1, 1) and stem.conv.conv_xy.groups == 24
    assert head.pool.pre_conv.out_channels == 432 and head.pool.post_conv.out_channels == 2048
    assert head.proj.out_features == 400
    for s, stage in enumerate(model.blocks[1:5]):
        for i, block in enumerate(stage.res_blocks):
            conv_b = block.branch2.conv_b
            assert conv_b.kernel_size == (3, 3, 3)
            assert conv_b.groups == conv_b.in_channels == conv_b.out_channels      # channel-wise
            assert conv_b.stride == ((1, 2, 2) if i == 0 else (1, 1, 1))
            assert isinstance(block.branch2.norm_b[1], SqueezeExcitation) == (i % 2 == 0)   # every other block
            assert (block.branch1_conv is not None) == (i == 0)                  # projection only when strided
        assert (stage.res_blocks[0].branch1_norm is None) == (s == 0)            # stage 1 keeps the stem's width
    se = model.blocks[1].res_blocks[0].branch2.norm_b[1]
    assert se.block[0].out_channels == 8                                         # round_width(54 / 16) = 8


def test_tiny_forward_pass_shape_and_init():
    torch.manual_seed(0)
    model = build_x3d(_tiny_factors(), num_classes=7).eval()
    clips = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        logits = model(clips)
        features = model.blocks[4](model.blocks[3](model.blocks[2](model.blocks[1](model.blocks[0](clips)))))
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
    assert features.shape == (2, 96, 4, 1, 1)       # every frame kept, 32× smaller in space
    assert all(not m.norm_c.weight.any() for m in model.modules() if isinstance(m, Bottleneck))   # zero-init
    model.train()
    model(clips).sum().backward()
    assert model.blocks[0].conv.conv_t.weight.grad is not None


# ---------------------------------------------------------------- pytorchvideo's checkpoint layout

def _bn(prefix: str, n: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.{k}": (n,) for k in ("weight", "bias", "running_mean", "running_var")} | \
           {f"{prefix}.num_batches_tracked": ()}


def _create_x3d_layout(depths=(3, 5, 11, 7), num_classes=400) -> dict[str, tuple[int, ...]]:
    """Every state-dict key and shape of pytorchvideo's create_x3d(width_factor=2.0, ...), transcribed
    from pytorchvideo/models/x3d.py and fvcore's SqueezeExcitation (independently of genlab's code)."""
    widths, inners, se_widths = (24, 48, 96, 192), (54, 108, 216, 432), (8, 8, 16, 32)
    keys = {"blocks.0.conv.conv_t.weight": (24, 3, 1, 3, 3), "blocks.0.conv.conv_xy.weight": (24, 1, 5, 1, 1)}
    keys |= _bn("blocks.0.norm", 24)
    dim_in = 24
    for s, (depth, width, inner, se) in enumerate(zip(depths, widths, inners, se_widths), start=1):
        for i in range(depth):
            p = f"blocks.{s}.res_blocks.{i}"
            if i == 0:
                keys[f"{p}.branch1_conv.weight"] = (width, dim_in, 1, 1, 1)
                if dim_in != width:
                    keys |= _bn(f"{p}.branch1_norm", width)
            keys[f"{p}.branch2.conv_a.weight"] = (inner, width if i else dim_in, 1, 1, 1)
            keys |= _bn(f"{p}.branch2.norm_a", inner)
            keys[f"{p}.branch2.conv_b.weight"] = (inner, 1, 3, 3, 3)
            keys |= _bn(f"{p}.branch2.norm_b.0", inner)
            if i % 2 == 0:
                keys |= {f"{p}.branch2.norm_b.1.block.0.weight": (se, inner, 1, 1, 1),
                         f"{p}.branch2.norm_b.1.block.0.bias": (se,),
                         f"{p}.branch2.norm_b.1.block.2.weight": (inner, se, 1, 1, 1),
                         f"{p}.branch2.norm_b.1.block.2.bias": (inner,)}
            keys[f"{p}.branch2.conv_c.weight"] = (width, inner, 1, 1, 1)
            keys |= _bn(f"{p}.branch2.norm_c", width)
        dim_in = width
    keys["blocks.5.pool.pre_conv.weight"] = (432, 192, 1, 1, 1)
    keys |= _bn("blocks.5.pool.pre_norm", 432)
    keys |= {"blocks.5.pool.post_conv.weight": (2048, 432, 1, 1, 1),
             "blocks.5.proj.weight": (num_classes, 2048), "blocks.5.proj.bias": (num_classes,)}
    return keys


def _random_state_dict(layout: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {k: torch.randint(0, 100, shape, generator=g) if k.endswith("num_batches_tracked")
            else torch.randn(shape, generator=g) for k, shape in layout.items()}


def test_state_dict_follows_create_x3d_names_and_shapes():
    with torch.device("meta"):
        model = build_x3d("XS")
    layout = _create_x3d_layout()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == layout
    params = sum(torch.Size(s).numel() for k, s in layout.items()
                 if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert params == CREATE_X3D["XS"][0]            # the transcribed table agrees with the count too
    with torch.device("meta"):
        assert set(build_x3d("L").state_dict()) == set(_create_x3d_layout(depths=(5, 10, 25, 15)))


@pytest.mark.parametrize("wrapper", [None, "model_state", "state_dict"])
def test_load_pretrained_round_trip(tmp_path, wrapper):
    weights = _random_state_dict(_create_x3d_layout(num_classes=10))
    path = tmp_path / "x3d_xs.pyth"
    torch.save(weights if wrapper is None else {wrapper: weights, "epoch": 3}, path)
    model = build_x3d("XS", num_classes=10)
    assert load_pretrained(model, path) is model and not model.training
    loaded = model.state_dict()
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], v) for k, v in weights.items())
    assert build_x3d("XS", num_classes=10).load_pretrained(path).state_dict()["blocks.5.proj.bias"].equal(
        weights["blocks.5.proj.bias"])


def test_load_pretrained_rejects_what_does_not_fit(tmp_path):
    weights = _random_state_dict(_create_x3d_layout(num_classes=10))
    model = build_x3d("XS", num_classes=10)
    wrong = dict(weights, **{"blocks.2.res_blocks.0.branch2.conv_b.weight": torch.randn(108, 1, 3, 3, 1)})
    torch.save(wrong, tmp_path / "shape.pt")
    with pytest.raises(ValueError, match=r"blocks\.2\.res_blocks\.0\.branch2\.conv_b\.weight"):
        load_pretrained(model, tmp_path / "shape.pt")
    missing = {k: v for k, v in weights.items() if k != "blocks.5.proj.weight"}
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(ValueError, match=r"missing \['blocks\.5\.proj\.weight'\]"):
        load_pretrained(model, tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="no checkpoint file"):
        load_pretrained(model, tmp_path / "absent.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="no state dict"):
        load_pretrained(model, tmp_path / "list.pt")


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("changes, field", [({"frames": 0}, "frames"), ({"resolution": 1.5}, "resolution"),
                                            ({"width": -1.0}, "width"), ({"depth": 0}, "depth"),
                                            ({"bottleneck": "2"}, "bottleneck")])
def test_bad_factors(changes, field):
    with pytest.raises(ValueError, match=field):
        _tiny_factors(**changes)


def test_bad_builder_arguments():
    with pytest.raises(ValueError, match="unknown X3D preset 'XL'"):
        build_x3d("XL")
    with pytest.raises(ValueError, match="preset name or X3DFactors"):
        build_x3d(3)
    with pytest.raises(ValueError, match="num_classes"):
        build_x3d(_tiny_factors(), num_classes=0)
    with pytest.raises(ValueError, match="dropout"):
        build_x3d(_tiny_factors(), dropout=1.0)
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\)"):
        build_x3d(_tiny_factors())(torch.randn(3, 4, 32, 32))
