"""Image networks on video: the baselines a video network must beat. Introduced in 12_x3d.

Before 3-D convolutions, video was classified with 2-D networks on frames (Karpathy et al. 2014,
"Large-scale video classification with convolutional neural networks"; Ng et al. 2015, "Beyond
short snippets"). ``FrameCNN`` is one small 2-D CNN used three ways, by ``temporal``:

- ``"average"``: the frames are averaged into one image first — the cheapest summary of a clip;
- ``"pool"``: the CNN runs on every frame and its features are averaged over time (late temporal
  pooling);
- ``"concat"``: the per-frame features are concatenated in time order before the classifier
  (Karpathy et al.'s *late fusion*).

The first two see the clip as a *set* of frames: played backwards, a clip gives them the same
input, so they cannot tell an action from its time reverse. The third keeps the order, but only
at the very end, after each frame was summarised alone.
"""
from __future__ import annotations

import torch
from torch import nn

TEMPORAL = ("average", "pool", "concat")


class FrameCNN(nn.Module):
    """A 2-D CNN (three strided 3×3 conv–BN–ReLU layers, global average pool) over
    the frames of (B, 3, T, H, W) clips, combined over time as ``temporal`` says; ``frames`` is
    T, needed by ``"concat"`` only."""

    def __init__(self, num_classes: int, temporal: str = "average", frames: int = 1, width: int = 32):
        super().__init__()
        if temporal not in TEMPORAL:
            raise ValueError(f"temporal must be one of {TEMPORAL}, got {temporal!r}")
        if not isinstance(frames, int) or frames < 1:
            raise ValueError(f"frames must be an int >= 1, got {frames!r}")
        self.temporal, self.frames = temporal, frames

        def layer(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(*layer(3, width // 2, 2), *layer(width // 2, width, 2),
                                      *layer(width, 2 * width, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(2 * width * (frames if temporal == "concat" else 1), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"need clips shaped (B, 3, T, H, W), got {tuple(x.shape)}")
        B, _, T, H, W = x.shape
        if self.temporal == "average":
            return self.classifier(self.features(x.mean(dim=2)))
        if self.temporal == "concat" and T != self.frames:
            raise ValueError(f"this late-fusion model was built for {self.frames} frames, got {T}")
        f = self.features(x.transpose(1, 2).reshape(B * T, 3, H, W)).view(B, T, -1)
        return self.classifier(f.mean(dim=1) if self.temporal == "pool" else f.flatten(1))


__all__ = ["TEMPORAL", "FrameCNN"]
