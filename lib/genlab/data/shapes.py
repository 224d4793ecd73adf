"""The shapes world: small RGB images of one coloured shape, with captions from a grammar.

Introduced in 10_clip (a small CLIP trained on CPU). An image shows one object whose *shape*
(8), *colour* (8), *size* (2), *position* (a 3×3 grid) and, optionally, *texture* (3) are
drawn at random; its position, size, rotation and colour are jittered and the background is a
dim, tinted, noisy gradient, so the images are not a lookup table of 1,152 pictures. Each image
has a caption from one of several templates ("a photo of a small red circle at the top left",
"circle, red, small, top left", …) and the captions' words are the whole vocabulary of a
``WordTokenizer``.

Compositional zero-shot: a fixed quarter of the shape×colour combinations (two colours per
shape, two shapes per colour, so every shape and every colour still occurs in training) never
appear in ``split="train"``; ``split="heldout"`` draws only those. The held-out set does not
depend on any seed, so every learner evaluates on the same combinations.

``two_objects`` draws two objects with captions whose colour–shape bindings can be swapped
("a red circle and a blue square" vs "a blue circle and a red square"): a model that reads a
caption as a bag of words cannot tell them apart (Yuksekgonul et al., 2023, "When and why
vision-language models behave like bags-of-words").

Everything is deterministic given a seed: ``ShapesWorld(seed).sample(n)`` draws from the
world's own stream; ``sample(n, seed=s)`` is the same batch whatever was drawn before.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from string import Formatter
from typing import Callable

import numpy as np
import torch

from .words import WordTokenizer, fix_articles, split_words

SHAPES = ("circle", "square", "triangle", "cross", "star", "diamond", "ring", "crescent")
COLOURS = {   # well apart in RGB and in hue; objects are drawn on a dim background
    "red": (0.92, 0.12, 0.10), "orange": (1.00, 0.55, 0.05), "yellow": (0.95, 0.90, 0.12),
    "green": (0.15, 0.75, 0.20), "cyan": (0.10, 0.82, 0.88), "blue": (0.15, 0.30, 0.98),
    "purple": (0.62, 0.20, 0.82), "white": (0.95, 0.95, 0.95)}
SIZES = ("small", "large")
POSITIONS = ("top left", "top", "top right", "left", "centre", "right",
             "bottom left", "bottom", "bottom right")   # row-major over a 3×3 grid
TEXTURES = ("plain", "striped", "dotted")
ATTRIBUTES = {"shape": SHAPES, "colour": tuple(COLOURS), "size": SIZES,
              "position": POSITIONS, "texture": TEXTURES}

# Training captions: each image gets one template at random. "{texture} " disappears when the
# world has no textures.
TEMPLATES = (
    "a photo of a {size} {texture} {colour} {shape} at the {position}",
    "a {size} {texture} {colour} {shape} at the {position}",
    "a {colour} {shape}",
    "a {texture} {colour} {shape} at the {position}",
    "{shape}, {colour}, {size}, {position}",
    "a {size} {shape} at the {position} that is {colour}",
    "there is a {colour} {shape} at the {position}",
)
FULL_TEMPLATE = TEMPLATES[0]   # names every attribute: the template for retrieval galleries
# Zero-shot prompts for 10_clip's prompt-template experiment; some words ("drawing", "picture",
# "object", "shape") never occur in training captions, on purpose.
PROMPT_TEMPLATES = ("a photo of a {shape}", "a {shape}", "a drawing of a {shape}",
                    "a picture of a {colour} object", "a {colour} shape", "a photo of a {colour} {shape}")
_EXTRA_WORDS = ("an", "and")

HELDOUT_SEED = 0        # fixes the held-out combinations: see the module docstring
_CENTRES = (0.25, 0.5, 0.75)     # grid lines as fractions of the image side
_RADIUS = (0.14, 0.23)           # small, large: "radius" as a fraction of the side
_CHUNK = 512                     # images rendered at once: keeps temporaries in cache


# ---- signed distances, in units of the object's radius, of points (u, v) in object coordinates
# (v points down). Negative inside. Exact for circles and polygons' faces, close enough elsewhere
# for one pixel of anti-aliasing.
def _circle(u, v):
    return np.hypot(u, v) - 0.85


def _square(u, v):
    return np.maximum(np.abs(u), np.abs(v)) - 0.72


def _triangle(u, v):   # pointing up, centroid at the origin
    return np.maximum.reduce([v + 0.1, -0.866 * u - 0.5 * v, 0.866 * u - 0.5 * v]) - 0.5


def _cross(u, v):
    au, av = np.abs(u), np.abs(v)
    return np.minimum(np.maximum(au - 0.95, av - 0.3), np.maximum(au - 0.3, av - 0.95))


def _star(u, v):       # five points, one at the top
    t = (np.arctan2(v, u) * (5 / (2 * np.pi)) + 1.25) % 1.0
    return np.hypot(u, v) - (0.42 + 0.66 * np.abs(2 * t - 1))


def _diamond(u, v):    # taller than wide, so it is not a rotated square
    return (np.abs(u) / 0.7 + np.abs(v) / 1.05 - 1) * 0.6


def _ring(u, v):
    return np.abs(np.hypot(u, v) - 0.7) - 0.27


def _crescent(u, v):
    return np.maximum(np.hypot(u, v) - 0.9, 0.72 - np.hypot(u - 0.45, v + 0.3))


_SDF: tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], ...] = (
    _circle, _square, _triangle, _cross, _star, _diamond, _ring, _crescent)


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5   # pixel centres
    return xs, ys


def draw_shapes(canvas: np.ndarray, shape: np.ndarray, rgb: np.ndarray, centre: np.ndarray,
                radius: np.ndarray, angle: np.ndarray, texture: np.ndarray | None = None) -> None:
    """Paint one object per image onto ``canvas`` (N, 3, S, S) float32, in place.

    ``shape`` (N,) ids into ``SHAPES``; ``rgb`` (N, 3); ``centre`` (N, 2) as (x, y) in pixels;
    ``radius`` (N,) in pixels; ``angle`` (N,) in radians; ``texture`` (N,) ids into ``TEXTURES``.
    Edges are anti-aliased over one pixel. Reused by the action clips of 12_x3d.
    """
    size = canvas.shape[-1]
    xs, ys = _pixel_grid(size)
    dx = xs - centre[:, 0, None, None].astype(np.float32)
    dy = ys - centre[:, 1, None, None].astype(np.float32)
    c = np.cos(angle).astype(np.float32)[:, None, None]
    s = np.sin(angle).astype(np.float32)[:, None, None]
    r = radius.astype(np.float32)[:, None, None]
    u, v = (c * dx + s * dy) / r, (c * dy - s * dx) / r
    dist = np.empty_like(u)
    for k in np.unique(shape):
        idx = np.flatnonzero(shape == k)
        dist[idx] = _SDF[k](u[idx], v[idx])
    cover = np.clip(0.5 - dist * r, 0.0, 1.0)          # pixel coverage from the distance in pixels
    paint = np.ones_like(u)
    if texture is not None:
        striped, dotted = texture[:, None, None] == 1, texture[:, None, None] == 2
        band = np.floor(v * r / 2.0) % 2                # 2-pixel bands across the object
        fu, fv = (u * r / 4.0) % 1 - 0.5, (v * r / 4.0) % 1 - 0.5
        dot = (fu * fu + fv * fv) < 0.05                # 2-pixel dots on a 4-pixel lattice
        paint = np.where(striped, 1 - 0.55 * band, np.where(dotted, 1 - 0.65 * dot, paint))
    cover = cover[:, None]
    canvas *= 1 - cover
    canvas += cover * paint[:, None] * rgb.astype(np.float32)[:, :, None, None]


def _backgrounds(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Dim, slightly tinted backgrounds with a gentle linear gradient: (n, 3, size, size)."""
    xs, ys = _pixel_grid(size)
    level = rng.uniform(0.04, 0.32, (n, 1)) + rng.normal(0, 0.03, (n, 3))
    slope = rng.normal(0, 0.06, (n, 2))
    bg = (level[:, :, None, None]
          + slope[:, 0, None, None, None] * (xs / size - 0.5)
          + slope[:, 1, None, None, None] * (ys / size - 0.5))
    return np.clip(bg, 0, 1).astype(np.float32)


def _add_noise(rng: np.random.Generator, images: np.ndarray, amplitude: float = 0.025) -> None:
    """Uniform pixel noise in ±amplitude, in place (from random bytes: far cheaper than normals)."""
    noise = rng.integers(0, 256, images.shape, dtype=np.uint8).astype(np.float32)
    images += noise * (2 * amplitude / 255) - amplitude
    np.clip(images, 0, 1, out=images)


def _jittered_rgb(rng: np.random.Generator, colour: np.ndarray) -> np.ndarray:
    base = np.array(list(COLOURS.values()), dtype=np.float32)[colour]
    rgb = base * rng.uniform(0.85, 1.0, (len(colour), 1)) + rng.normal(0, 0.035, (len(colour), 3))
    return np.clip(rgb, 0, 1)


def _as_rng(seed: int | np.random.Generator | None, default: np.random.Generator) -> np.random.Generator:
    if seed is None and default is not None:
        return default
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be a non-negative int{', a numpy Generator or None' if default else ''}, "
                     f"got {seed!r}")


def _check_n(n: int) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")


def _placeholders(template: str) -> list[str]:
    names = [f for _, f, _, _ in Formatter().parse(template) if f is not None]
    unknown = [f for f in names if f not in ATTRIBUTES]
    if unknown or not names:
        raise ValueError(f"template {template!r} must name attributes among {list(ATTRIBUTES)} "
                         f"in braces, e.g. 'a photo of a {{shape}}'; unknown: {unknown}")
    return list(dict.fromkeys(names))    # in order of first appearance


@dataclass
class ShapesBatch:
    """Images (N, 3, S, S) float32 in [0, 1], their attributes as int64 ids (into ``SHAPES``,
    ``COLOURS``, ``SIZES``, ``POSITIONS``, ``TEXTURES``), captions and their tokens."""

    images: torch.Tensor
    shape: torch.Tensor
    colour: torch.Tensor
    size: torch.Tensor
    position: torch.Tensor
    texture: torch.Tensor
    captions: list[str]
    tokens: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return f"ShapesBatch(images={tuple(self.images.shape)}, captions[0]={self.captions[0]!r})"


@dataclass
class TwoObjects:
    """Two objects per image: ``shape`` and ``colour`` are (N, 2), object 0 named first.
    ``captions`` bind each colour to its own shape; ``swapped`` exchange the two colours."""

    images: torch.Tensor
    shape: torch.Tensor
    colour: torch.Tensor
    captions: list[str]
    swapped: list[str]
    tokens: torch.Tensor
    swapped_tokens: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"TwoObjects(images={tuple(self.images.shape)}, captions[0]={self.captions[0]!r}, "
                f"swapped[0]={self.swapped[0]!r})")


class ShapesWorld:
    """The shapes world (see the module docstring).

    ``image_size`` (default 32) is the side of the square images; ``textures`` adds plain /
    striped / dotted objects and the texture word to captions; ``context_length`` is the token
    length of ``batch.tokens``. ``seed`` seeds the world's own stream of samples.
    """

    def __init__(self, seed: int = 0, *, image_size: int = 32, textures: bool = False,
                 context_length: int = 16):
        if not isinstance(image_size, int) or image_size < 16:
            raise ValueError(f"image_size must be an int >= 16, got {image_size!r}")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.rng = np.random.default_rng(int(seed))
        self.seed, self.image_size, self.textures = seed, image_size, textures
        self.context_length = context_length
        self.heldout = self._heldout_mask()
        vocab = set(_EXTRA_WORDS)
        for text in TEMPLATES + PROMPT_TEMPLATES + tuple(" ".join(v) for v in ATTRIBUTES.values()):
            vocab.update(split_words(re.sub(r"\{\w+\}", " ", text)))
        self.tokenizer = WordTokenizer(vocab)
        widest = {k: max(v, key=len) for k, v in ATTRIBUTES.items()}
        longest = max(map(self._template, TEMPLATES), key=len).format(**widest)
        if len(split_words(longest)) + 2 > context_length:
            raise ValueError(f"context_length={context_length} is too short: captions need up to "
                             f"{len(split_words(longest)) + 2} tokens")

    # ---- the grammar
    def _template(self, template: str) -> str:
        """The library's templates lose "{texture} " in a world without textures; a template of
        one's own that names the texture there is an error."""
        if not self.textures and "{texture}" in template:
            if template not in TEMPLATES:
                raise ValueError(f"template {template!r} names the texture, but this world has none "
                                 "(ShapesWorld(textures=True) has)")
            template = template.replace("{texture} ", "")
        return template

    @staticmethod
    def _heldout_mask() -> np.ndarray:
        """(shapes, colours) bool: True for held-out combinations. Two disjoint random perfect
        matchings of shapes to colours, so each shape loses two colours and each colour two
        shapes; the second is the first followed by one 8-cycle, so no two shapes lose the same
        pair of colours."""
        rng = np.random.default_rng(HELDOUT_SEED)
        first = rng.permutation(len(COLOURS))
        order = rng.permutation(len(SHAPES))
        shift = np.empty_like(order)
        shift[order] = np.roll(order, 1)                  # one cycle through all shapes
        mask = np.zeros((len(SHAPES), len(COLOURS)), bool)
        mask[np.arange(len(SHAPES)), first] = True
        mask[np.arange(len(SHAPES)), first[shift]] = True
        return mask

    @property
    def heldout_combinations(self) -> list[tuple[str, str]]:
        """The held-out (shape, colour) pairs."""
        return [(SHAPES[s], tuple(COLOURS)[c]) for s, c in zip(*np.nonzero(self.heldout))]

    def is_heldout(self, shape: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
        """Bool tensor: which (shape, colour) id pairs are held out."""
        return torch.from_numpy(self.heldout[np.asarray(shape), np.asarray(colour)])

    def caption(self, template: str, **attributes: int) -> str:
        """The caption of one set of attribute ids, e.g. ``caption("a {colour} {shape}",
        colour=0, shape=1)`` → "a red square"."""
        missing = set(_placeholders(self._template(template))) - set(attributes)
        if missing:
            raise ValueError(f"template {template!r} needs the attribute(s) {sorted(missing)}")
        return self._caption(template, attributes)

    def _caption(self, template: str, ids: dict[str, int]) -> str:
        words = {k: ATTRIBUTES[k][int(v)] for k, v in ids.items()}
        return fix_articles(self._template(template).format(**words))

    def prompts(self, template: str) -> list[str]:
        """Zero-shot class prompts: one per combination of the attributes ``template`` names,
        in order of appearance, the last varying fastest. ``labels(batch, template)`` gives each
        image's class in the same order.

        >>> ShapesWorld().prompts("a {colour} {shape}")[:2]
        ['a red circle', 'a red square']
        """
        names = _placeholders(self._template(template))
        return [self._caption(template, dict(zip(names, ids)))
                for ids in itertools.product(*(range(len(ATTRIBUTES[k])) for k in names))]

    def labels(self, batch: ShapesBatch, template: str) -> torch.Tensor:
        """Each image's class among ``prompts(template)`` (int64)."""
        names = _placeholders(self._template(template))
        ids = [getattr(batch, k).numpy() for k in names]
        return torch.from_numpy(np.ravel_multi_index(ids, [len(ATTRIBUTES[k]) for k in names]))

    def parse(self, caption: str) -> dict[str, int]:
        """The attribute ids a one-object caption names (attributes it omits are absent)."""
        text = " " + " ".join(split_words(caption)) + " "
        found: dict[str, int] = {}
        for name in ("position", "shape", "colour", "size", "texture"):
            # longest phrases first, so "top left" is not read as "top"
            for value in sorted(ATTRIBUTES[name], key=len, reverse=True):
                if f" {value} " in text:
                    if name in found:
                        raise ValueError(f"caption {caption!r} names two {name}s")
                    found[name] = ATTRIBUTES[name].index(value)
                    text = text.replace(f" {value} ", " ")
        return found

    # ---- sampling
    def _combos(self, split: str) -> np.ndarray:
        if split not in ("train", "heldout", "all"):
            raise ValueError(f"split must be 'train', 'heldout' or 'all', got {split!r}")
        mask = {"train": ~self.heldout, "heldout": self.heldout,
                "all": np.ones_like(self.heldout)}[split]
        return np.argwhere(mask)            # rows of (shape, colour)

    def sample(self, n: int, split: str = "train", seed: int | np.random.Generator | None = None,
               template: str | None = None) -> ShapesBatch:
        """``n`` images with random attributes from ``split`` ("train": seen shape×colour
        combinations, "heldout": the held-out ones, "all"). Each caption uses a random training
        template unless ``template`` is given (e.g. ``FULL_TEMPLATE`` for a retrieval gallery)."""
        _check_n(n)
        combos = self._combos(split)
        rng = _as_rng(seed, self.rng)
        shape, colour = combos[rng.integers(len(combos), size=n)].T
        size = rng.integers(len(SIZES), size=n)
        position = rng.integers(len(POSITIONS), size=n)
        texture = rng.integers(len(TEXTURES), size=n) if self.textures else np.zeros(n, np.int64)
        choice = rng.integers(len(TEMPLATES), size=n)

        side = self.image_size
        grid = np.array(_CENTRES)
        centre = np.stack([grid[position % 3], grid[position // 3]], 1) * side
        centre += rng.uniform(-0.04, 0.04, (n, 2)) * side
        radius = np.array(_RADIUS)[size] * side * rng.uniform(0.9, 1.1, n)
        angle = rng.uniform(-0.17, 0.17, n)          # ±10°: a square never becomes a diamond
        rgb = _jittered_rgb(rng, colour)
        images = np.empty((n, 3, side, side), np.float32)
        for lo in range(0, n, _CHUNK):
            sl = slice(lo, lo + _CHUNK)
            canvas = _backgrounds(rng, len(images[sl]), side)
            draw_shapes(canvas, shape[sl], rgb[sl], centre[sl], radius[sl], angle[sl],
                        texture[sl] if self.textures else None)
            _add_noise(rng, canvas)
            images[sl] = canvas

        attrs = {"shape": shape, "colour": colour, "size": size, "position": position, "texture": texture}
        captions = [self._caption(template or TEMPLATES[c], {k: a[i] for k, a in attrs.items()})
                    for i, c in enumerate(choice)]
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))  # noqa: E731
        return ShapesBatch(torch.from_numpy(images), t(shape), t(colour), t(size), t(position),
                           t(texture), captions, self.tokenizer.encode(captions, self.context_length))

    def two_objects(self, n: int, seed: int | np.random.Generator | None = None,
                    split: str = "train") -> TwoObjects:
        """``n`` images of two objects, one in each half, with different shapes and different
        colours; both objects' combinations come from ``split``. Object 0 (named first in the
        caption) is on the left or the right at random, so word order says nothing about place."""
        _check_n(n)
        combos = self._combos(split)
        rng = _as_rng(seed, self.rng)
        pairs = rng.integers(len(combos), size=(n, 2))
        for _ in range(100):   # redraw pairs that share a shape or a colour
            bad = np.flatnonzero((combos[pairs[:, 0]] == combos[pairs[:, 1]]).any(1))
            if not len(bad):
                break
            pairs[bad] = rng.integers(len(combos), size=(len(bad), 2))
        shape, colour = combos[pairs][..., 0], combos[pairs][..., 1]
        side = self.image_size
        left_first = rng.random(n) < 0.5
        x = np.where(left_first[:, None], [0.27, 0.73], [0.73, 0.27]) * side
        y = (0.5 + rng.uniform(-0.12, 0.12, (n, 2))) * side
        x += rng.uniform(-0.03, 0.03, (n, 2)) * side
        radius = 0.19 * side * rng.uniform(0.9, 1.1, (n, 2))
        angle = rng.uniform(-0.17, 0.17, (n, 2))
        rgb = np.stack([_jittered_rgb(rng, colour[:, 0]), _jittered_rgb(rng, colour[:, 1])], 1)
        images = np.empty((n, 3, side, side), np.float32)
        for lo in range(0, n, _CHUNK):
            sl = slice(lo, lo + _CHUNK)
            canvas = _backgrounds(rng, len(images[sl]), side)
            for j in (0, 1):
                draw_shapes(canvas, shape[sl, j], rgb[sl, j], np.stack([x[sl, j], y[sl, j]], 1),
                            radius[sl, j], angle[sl, j])
            _add_noise(rng, canvas)
            images[sl] = canvas
        colours = tuple(COLOURS)
        say = lambda c0, s0, c1, s1: fix_articles(  # noqa: E731
            f"a {colours[c0]} {SHAPES[s0]} and a {colours[c1]} {SHAPES[s1]}")
        captions = [say(c[0], s[0], c[1], s[1]) for s, c in zip(shape, colour)]
        swapped = [say(c[1], s[0], c[0], s[1]) for s, c in zip(shape, colour)]
        enc = lambda caps: self.tokenizer.encode(caps, self.context_length)  # noqa: E731
        return TwoObjects(torch.from_numpy(images), torch.from_numpy(shape.astype(np.int64)),
                          torch.from_numpy(colour.astype(np.int64)), captions, swapped,
                          enc(captions), enc(swapped))

    def __repr__(self) -> str:
        return (f"ShapesWorld(seed={self.seed}, image_size={self.image_size}, textures={self.textures}, "
                f"{self.heldout.sum()} of {self.heldout.size} shape×colour combinations held out, "
                f"vocab_size={self.tokenizer.vocab_size})")
