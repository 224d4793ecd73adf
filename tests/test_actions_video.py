"""12_x3d's data and models around X3D: the action clips, video files, the 2-D baselines, the expansion table."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from genlab.data.actions import ACTIONS, REVERSE, SPAN, action_clips, frame_times
from genlab.data.video import decode_video, read_video, sample_indices, write_video
from genlab.vision import x3d, x3d_expansion
from genlab.vision.frame_models import FrameCNN

NOISE = 0.025      # the shapes world's pixel noise: two renderings of one frame differ by at most twice it


# ---- the action clips

def test_clips_shape_range_and_determinism():
    a = action_clips(20, frames=4, stride=8, size=32, seed=3)
    assert a.clips.shape == (20, 3, 4, 32, 32) and a.clips.dtype == torch.float32
    assert a.labels.shape == (20,) and a.labels.dtype == torch.int64
    assert 0 <= a.clips.min() and a.clips.max() <= 1
    assert torch.equal(a.clips, action_clips(20, frames=4, stride=8, size=32, seed=3).clips)
    assert not torch.equal(a.clips, action_clips(20, frames=4, stride=8, size=32, seed=4).clips)
    assert len(a[:5]) == 5


def test_labels_are_respected_and_drawn_uniformly():
    fixed = action_clips(8, labels=list(range(8)), seed=0)
    assert fixed.labels.tolist() == list(range(8))
    drawn = action_clips(4000, frames=1, size=16, seed=1).labels
    counts = torch.bincount(drawn, minlength=len(ACTIONS)).float() / len(drawn)
    assert (counts - 1 / len(ACTIONS)).abs().max() < 0.03


@pytest.mark.parametrize("action", range(len(ACTIONS)))
def test_each_action_is_its_partners_time_reverse(action):
    """Same seed, partner labels: the clips are each other played backwards, up to the pixel noise."""
    n = 16
    one = action_clips(n, frames=6, stride=5, labels=[action] * n, seed=11)
    other = action_clips(n, frames=6, stride=5, labels=[REVERSE[action]] * n, seed=11)
    assert (one.clips.flip(dims=[2]) - other.clips).abs().max() <= 2 * NOISE + 1e-6
    # and the clips do move: the frames differ far more than the noise
    assert (one.clips[:, :, 0] - one.clips[:, :, -1]).abs().amax(dim=(1, 2, 3)).min() > 0.15


def test_time_averaged_frames_cannot_tell_partners_apart():
    """The property 12_x3d's baselines rest on: a clip and its reverse have one mean frame."""
    c = action_clips(32, frames=4, stride=8, seed=2).clips
    assert (c.mean(dim=2) - c.flip(dims=[2]).mean(dim=2)).abs().max() < 1e-6


def test_motion_is_centred_in_time():
    t = frame_times(4, 8)
    assert t.tolist() == [-12.0, -4.0, 4.0, 12.0] and t.sum() == 0
    assert frame_times(5, 1).tolist() == [-2, -1, 0, 1, 2]
    assert SPAN == 28


@pytest.mark.parametrize("bad", [dict(n=0), dict(n=2, frames=0), dict(n=2, stride=0), dict(n=2, size=8),
                                 dict(n=2, labels=[0, 8]), dict(n=2, labels=[0]), dict(n=2, seed=-1)])
def test_clips_bad_arguments(bad):
    with pytest.raises(ValueError):
        action_clips(**bad)


# ---- frame sampling and video files

@pytest.mark.parametrize("args, want", [((64, 4, 8), [19, 27, 35, 43]), ((10, 4, 8), [0, 0, 8, 9]),
                                        ((11, 4, 8), [0, 1, 9, 10]), ((7, 1, 3), [3]), ((8, 1, 5), [3]),
                                        ((25, 4, 8), [0, 8, 16, 24]), ((300, 16, 5), list(range(112, 188, 5)))])
def test_sample_indices(args, want):
    got = sample_indices(*args)
    assert got.dtype == torch.int64 and got.tolist() == want


def test_sample_indices_is_centred_and_in_range():
    for n in range(1, 80):
        for frames, stride in ((4, 8), (16, 5), (13, 6), (3, 1)):
            idx = sample_indices(n, frames, stride)
            assert idx.min() >= 0 and idx.max() <= n - 1
            span = (frames - 1) * stride + 1
            if n >= span:   # whole clip inside: margins before and after differ by at most one frame
                before, after = int(idx[0]), n - 1 - int(idx[-1])
                assert 0 <= after - before <= 1 and (idx.diff() == stride).all()


@pytest.mark.parametrize("bad", [(0, 4, 8), (64, 0, 8), (64, 4, 0), (64, 4.0, 8), (True, 4, 8)])
def test_sample_indices_bad_arguments(bad):
    with pytest.raises(ValueError):
        sample_indices(*bad)


def test_video_file_round_trip(tmp_path):
    video = action_clips(1, frames=40, stride=1, size=32, labels=[4], seed=5).clips[0]
    path = write_video(tmp_path / "approach.mp4", video, fps=25)
    frames = decode_video(path)
    assert frames.shape == (40, 32, 32, 3) and frames.dtype == torch.uint8
    clip = read_video(path, 4, 8)
    assert clip.shape == (3, 4, 32, 32)
    # H.264 keeps colour at half resolution: close on average, not bit-exact
    assert (clip - video[:, sample_indices(40, 4, 8)]).abs().mean() < 0.03
    small = read_video(path, 2, 3, size=16)
    assert small.shape == (3, 2, 16, 16) and 0 <= small.min() and small.max() <= 1
    custom = read_video(path, 4, 8, sampler=lambda n, t, s: torch.arange(t))
    assert (custom - video[:, :4]).abs().mean() < 0.03


def test_read_video_resizes_and_crops_non_square(tmp_path):
    video = torch.rand(3, 6, 24, 40)
    path = write_video(tmp_path / "wide.mp4", video)
    assert read_video(path, 3, 2, size=12).shape == (3, 3, 12, 12)
    assert read_video(path, 3, 2).shape == (3, 3, 24, 40)


def test_video_errors(tmp_path):
    with pytest.raises(ValueError, match="no video file"):
        decode_video(tmp_path / "missing.mp4")
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", torch.rand(3, 4, 31, 32))
    with pytest.raises(ValueError, match="shaped"):
        write_video(tmp_path / "bad.mp4", torch.rand(4, 31, 32))


# ---- the 2-D baselines

def test_frame_models_that_see_a_set_are_blind_to_order():
    torch.manual_seed(0)
    x = torch.rand(5, 3, 4, 32, 32)
    for temporal in ("average", "pool"):
        model = FrameCNN(8, temporal).eval()
        torch.testing.assert_close(model(x), model(x.flip(dims=[2])), atol=1e-5, rtol=1e-5)
    fusion = FrameCNN(8, "concat", frames=4).eval()
    assert (fusion(x) - fusion(x.flip(dims=[2]))).abs().max() > 1e-3
    assert fusion(x).shape == (5, 8)


def test_frame_model_errors():
    with pytest.raises(ValueError, match="temporal"):
        FrameCNN(8, "max")
    with pytest.raises(ValueError, match="frames"):
        FrameCNN(8, "concat", frames=4)(torch.rand(2, 3, 5, 32, 32))
    with pytest.raises(ValueError, match="clips shaped"):
        FrameCNN(8)(torch.rand(2, 3, 32, 32))


# ---- X3D's hooks for 12_x3d: the learner's block and rule, per-frame evidence, flat names

class CountingBlock(x3d.ResBlock):
    made = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CountingBlock.made += 1


def test_build_with_another_block_and_rule():
    factors = x3d.X3DFactors(frames=4, stride=8, resolution=32, width=0.5, bottleneck=2.25, depth=0.4)
    CountingBlock.made = 0
    model = x3d.build_x3d(factors, num_classes=8, block=CountingBlock,
                          expand=lambda f: [x3d.StageConfig(8, 1, 16)] * 4)
    assert CountingBlock.made == 4 and [tuple(s) for s in model.stages] == [(8, 1, 16)] * 4
    with pytest.raises(ValueError, match="4 stages"):
        x3d.build_x3d(factors, expand=lambda f: [x3d.StageConfig(8, 1, 16)] * 3)


def test_frame_logits_and_flat_names():
    factors = x3d.X3DFactors(frames=4, stride=8, resolution=32, width=0.5, bottleneck=2.25, depth=0.4)
    model = x3d.build_x3d(factors, num_classes=8).eval()
    x = torch.rand(2, 3, 4, 32, 32)
    per_frame = model.frame_logits(x)
    assert per_frame.shape == (2, 4, 8)
    # with one frame, the per-frame evidence is the clip's logits
    one = torch.rand(2, 3, 1, 32, 32)
    torch.testing.assert_close(model.frame_logits(one)[:, 0], model(one), atol=1e-5, rtol=1e-5)
    block = x3d.ResBlock(16, 36, 24, stride=2, se=True)
    flat = x3d.flat_block_state(block)
    assert len(flat) == len(block.state_dict())
    assert {k.split(".")[0] for k in flat} == {"conv_a", "norm_a", "conv_b", "norm_b", "se", "conv_c", "norm_c",
                                               "shortcut", "shortcut_norm"}
    assert flat["conv_b.weight"].shape == (36, 1, 3, 3, 3)


def test_count_macs_in_training_mode_keeps_the_mode():
    model = x3d.build_x3d(x3d_expansion.BASE, num_classes=8).train()
    assert x3d.count_macs(model, (1, *x3d_expansion.BASE.input_shape)) > 0
    assert model.training


# ---- the expansion table

def test_expand_axis():
    base = x3d_expansion.BASE
    assert x3d_expansion.expand_axis(base, "X-Temporal").frames == 2 * base.frames
    fast = x3d_expansion.expand_axis(base, "X-Fast")
    assert (fast.frames, fast.stride) == (2 * base.frames, base.stride // 2)
    assert x3d_expansion.expand_axis(base, "X-Spatial").resolution == 32
    assert x3d_expansion.expand_axis(dataclasses.replace(base, stride=1), "X-Fast") is None
    assert x3d_expansion.expand_axis(dataclasses.replace(base, resolution=64), "X-Spatial") is None
    for axis, field in (("X-Width", "width"), ("X-Bottleneck", "bottleneck"), ("X-Depth", "depth")):
        assert getattr(x3d_expansion.expand_axis(base, axis), field) == 2 * getattr(base, field)
    with pytest.raises(ValueError):
        x3d_expansion.expand_axis(base, "X-Colour")


def test_choose_is_gain_per_multiply_add():
    current = {"accuracy": 0.5, "macs": 100}
    candidates = {"a": {"accuracy": 0.7, "macs": 300}, "b": {"accuracy": 0.6, "macs": 150},
                  "c": {"accuracy": 0.9, "macs": 1100}}
    assert x3d_expansion.choose(current, candidates) == "b"      # 0.1 / 50 beats 0.2 / 200 and 0.4 / 1000


def test_run_resumes_and_follows_the_best_gain(tmp_path, monkeypatch):
    calls = []

    def fake(factors, seed, recipe=None, **build):
        calls.append((factors, seed))
        score = {1: 0.2, 2: 0.5, 4: 0.8}.get(factors.frames, 0.9) + 0.01 * seed   # more frames: most gain
        return {"accuracy": score - 0.1 * (factors.width - 0.5), "macs": x3d_expansion.macs(factors),
                "params": 1, "seconds": 0.0}

    monkeypatch.setattr(x3d_expansion, "train_candidate", fake)
    out = tmp_path / "table.json"
    table = x3d_expansion.run(out, steps=1, log=lambda *_: None)
    assert table["path"][1]["axis"] in ("X-Temporal", "X-Fast")
    first = len(calls)
    assert first == 2 * (1 + len(x3d_expansion.AXES))          # base + six candidates, two seeds each
    x3d_expansion.run(out, steps=1, log=lambda *_: None)       # everything is in the file: nothing retrained
    assert len(calls) == first
    saved = json.loads(out.read_text())
    assert saved["path"][1]["accuracies"] == table["path"][1]["accuracies"]


def test_shipped_table_is_consistent_with_the_builder():
    table = x3d_expansion.load_table()
    assert table["recipe"] == x3d_expansion.RECIPE and table["base"] == dataclasses.asdict(x3d_expansion.BASE)
    path = table["path"]
    assert path[0]["axis"] == "base" and len(path) == x3d_expansion.STEPS + 1
    for before, after in zip(path, path[1:]):
        grown = x3d_expansion.expand_axis(x3d.X3DFactors(**before["factors"]), after["axis"])
        assert dataclasses.asdict(grown) == after["factors"]
        assert after["axis"] == x3d_expansion.choose(before, after["candidates"])
        for axis, c in after["candidates"].items():     # the recorded complexity is this builder's
            assert c["macs"] == x3d_expansion.macs(x3d.X3DFactors(**c["factors"]))
            assert len(c["accuracies"]) == len(x3d_expansion.SEEDS)
    assert path[-1]["accuracy"] > path[0]["accuracy"] + 0.5      # the path learns to see motion
