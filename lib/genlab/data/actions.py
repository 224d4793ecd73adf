"""Action clips: short videos where motion, not appearance, decides the class. Introduced in 12_x3d.

One coloured shape (the actor) does one of eight actions among static clutter, on the dim noisy
backgrounds of the shapes world (``shapes.draw_shapes`` paints every frame):

    move left / move right, move up / move down, approach / recede, appear / vanish

Each action's partner is its time reverse, and every trajectory is *centred in time*: the actor's
position, angle, log-size and opacity are linear in t, with t symmetric around the clip's middle
and the rates' magnitudes drawn from one distribution for both partners. A clip of "move left" is
then a clip of "move right" played backwards, frame for frame in distribution — so any model that
sees the frames as a set (the time-averaged frame, per-frame features averaged over time) can tell
the four pairs apart but not the two actions of a pair: its accuracy is at most 50 %. The actor's
shape, colour, size, start and speed, the clutter and the noise vary, so appearance says nothing
about the class. (Turning clockwise / counter-clockwise was tried as the second pair, both as a
spin in place and as circling along an arc: within the notebook's training budget a tiny X3D
stayed near chance on the pair at 32 pixels, while every other pair was learnt — so up / down
replaced it.)

Time is measured in video frames: a clip of ``frames`` frames taken every ``stride`` frames
covers ``(frames - 1) · stride`` frames of video, so a long video (``stride=1``) sampled with
``genlab.data.video.sample_indices`` at that stride shows what a clip shows. Rates are per video
frame; ``span`` (default 28, the span of 8 frames at stride 4) sets them so that each action is
about equally visible whatever the clip length.

Deterministic given a seed: ``action_clips(n, seed=s)`` is the same batch every time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .shapes import COLOURS, SHAPES, _add_noise, _backgrounds, _check_n, draw_shapes

ACTIONS = ("move left", "move right", "move up", "move down", "approach", "recede", "appear", "vanish")
REVERSE = {0: 1, 1: 0, 2: 3, 3: 2, 4: 5, 5: 4, 6: 7, 7: 6}   # each action's time reverse
SPAN = 28.0      # video frames a clip of 8 frames at stride 4 covers: the rates below are set for it


@dataclass
class ActionClips:
    """``clips`` (N, 3, T, S, S) float32 in [0, 1] — channels first, as 3-D convolutions want —
    and ``labels`` (N,) int64 ids into ``ACTIONS``."""

    clips: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> ActionClips:
        return ActionClips(self.clips[index], self.labels[index])

    def __repr__(self) -> str:
        return f"ActionClips(clips={tuple(self.clips.shape)}, labels={tuple(self.labels.shape)})"


def _check_int(name: str, value, low: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def frame_times(frames: int, stride: int) -> np.ndarray:
    """The clip's frame times in video frames, centred on 0: (k - (frames - 1) / 2) · stride."""
    return (np.arange(frames) - (frames - 1) / 2) * stride


def action_clips(n: int, *, frames: int = 8, stride: int = 4, size: int = 32, seed: int = 0,
                 labels: np.ndarray | list[int] | None = None, span: float = SPAN) -> ActionClips:
    """``n`` clips of ``frames`` frames, ``size``² pixels, one frame every ``stride`` video frames.

    ``labels`` fixes each clip's action (ids into ``ACTIONS``); by default they are drawn
    uniformly. ``stride=1`` with many frames gives a whole video, e.g. to write to a file.
    """
    _check_n(n)
    frames, stride, size = _check_int("frames", frames, 1), _check_int("stride", stride, 1), _check_int("size", size, 16)
    if not span > 0:
        raise ValueError(f"span must be > 0 video frames, got {span!r}")
    rng = np.random.default_rng(_check_int("seed", seed, 0))
    if labels is None:
        labels = rng.integers(0, len(ACTIONS), n)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (n,) or labels.min() < 0 or labels.max() >= len(ACTIONS):
        raise ValueError(f"labels must be {n} ids in [0, {len(ACTIONS)}), got {labels!r}")
    clips = np.empty((n, frames, 3, size, size), np.float32)
    t = frame_times(frames, stride)
    for start in range(0, n, 256):        # a few hundred clips at a time keeps temporaries small
        stop = min(n, start + 256)
        clips[start:stop] = _render(rng, labels[start:stop], t, size, span)
    return ActionClips(torch.from_numpy(clips).permute(0, 2, 1, 3, 4).contiguous(), torch.from_numpy(labels))


def _render(rng: np.random.Generator, labels: np.ndarray, t: np.ndarray, size: int, span: float) -> np.ndarray:
    """(n, T, 3, S, S) frames of the given actions at times ``t``."""
    n, T = len(labels), len(t)
    s = size / 32                                    # distances below are for 32-pixel frames
    # --- the actor's look and its trajectory's centre (mean over the clip) and rates
    shape = rng.integers(0, len(SHAPES), n)
    rgb = np.array(list(COLOURS.values()), np.float32)[rng.integers(0, len(COLOURS), n)]
    rgb = np.clip(rgb * rng.uniform(0.85, 1.0, (n, 1)) + rng.normal(0, 0.035, (n, 3)), 0, 1)
    centre = rng.uniform(12, 20, (n, 2)) * s
    radius = rng.uniform(5.0, 7.0, n) * s
    angle = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(0.7, 1.3, n) / span          # a fraction of the motion below per video frame
    sign = np.where(labels % 2 == 0, -1.0, 1.0)      # left, up, approach, appear: -1; their reverses +1
    # move: 8–16 px over the span, along x (left/right) or y (up/down; y points down);
    # approach/recede: the radius changes 1.8–3× (log-linear); appear/vanish: opacity 0 → 1
    distance = sign * rng.uniform(8, 16, n) * s
    move_x = np.where(labels < 2, distance, 0.0)
    move_y = np.where((labels == 2) | (labels == 3), distance, 0.0)
    grow = np.where((labels == 4) | (labels == 5), -sign * np.log(rng.uniform(1.8, 3.0, n)), 0.0)
    fade = np.where(labels >= 6, -sign * rng.uniform(1.0, 2.0, n), 0.0)
    # --- clutter: 1–3 static shapes of any kind, fixed over the clip
    n_clutter = rng.integers(1, 4, n)
    clutter = [(k, rng.integers(0, len(SHAPES), n), rng.integers(0, len(COLOURS), n),
                rng.uniform(3, 26, (n, 2)) * s, rng.uniform(2.5, 4.5, n) * s, rng.uniform(0, 2 * np.pi, n))
               for k in range(3)]
    frames = np.repeat(_backgrounds(rng, n, size)[:, None], T, axis=1)          # (n, T, 3, S, S)
    colours = np.array(list(COLOURS.values()), np.float32)
    for k, c_shape, c_colour, c_centre, c_radius, c_angle in clutter:
        on = np.flatnonzero(n_clutter > k)
        if len(on) == 0:
            continue
        flat = frames[on].reshape(-1, 3, size, size)
        rep = lambda a: np.repeat(a[on], T, axis=0)                              # noqa: E731
        draw_shapes(flat, rep(c_shape), rep(colours[c_colour] * 0.8), rep(c_centre), rep(c_radius), rep(c_angle))
        frames[on] = flat.reshape(len(on), T, 3, size, size)
    # --- the actor at each time: u = t · speed runs over about [-1/2, 1/2] of the action
    u = t[None, :] * speed[:, None]                                              # (n, T)
    x = centre[:, None, 0] + move_x[:, None] * u
    y = centre[:, None, 1] + move_y[:, None] * u
    a = np.broadcast_to(angle[:, None], u.shape)
    r = radius[:, None] * np.exp(grow[:, None] * u)
    alpha = np.clip(0.5 + fade[:, None] * u, 0, 1)
    flat = frames.reshape(-1, 3, size, size)
    before = flat.copy()
    draw_shapes(flat, np.repeat(shape, T), np.repeat(rgb, T, axis=0), np.stack([x, y], -1).reshape(-1, 2),
                r.reshape(-1), a.reshape(-1))
    flat[:] = before + alpha.reshape(-1, 1, 1, 1).astype(np.float32) * (flat - before)   # opacity
    _add_noise(rng, flat)
    return flat.reshape(n, T, 3, size, size)


__all__ = ["ACTIONS", "REVERSE", "SPAN", "ActionClips", "action_clips", "frame_times"]
