"""The places world: a synthetic globe whose photos change smoothly with latitude and longitude.

Introduced in 11_clip_applications (location search, outlier rejection). **This is a stand-in
that proves the mechanics of retrieval-based geolocation, not real geolocation**: the "photos"
are 32×32 drawings of sky, sea, mountains, trees, buildings and ground, and what they show is a
smooth function of where they were taken, by construction. A model that localises them well has
learnt this world's rules, nothing about the Earth.

How a place looks (``PlacesWorld.look``) comes from a few smooth random fields on the sphere —
sums of random Fourier features of the 3-D unit vector, so they are continuous across the
date line and at the poles:

- *elevation* sets land and sea (about 40 % land), the coast, mountains and rock;
- *temperature* falls with latitude and height, with a seasonal swing; cold means *snow*;
- *moisture* (wet tropics, dry subtropics, plus a random field) sets *vegetation* or *sand*;
- *towns* cluster near coasts, and avoid snow, deserts and mountains;
- the *sky* is deeper blue in the tropics, paler towards the poles, grey when it is wet and
  dim when the noon sun is low (winter at high latitudes).

A photo shows a *scene*: a horizon, a ridge, trees, buildings and patches of ground, drawn
``pan`` pixels wider than the frame. ``sites`` and ``site_photos`` give places that are
photographed many times: every photo of one site shows the site's one scene (its layout comes
from a random stream of the site's own), on its own day — season, clouds, exposure, sensor
noise —, framed a little left or right and, half of the time, from the other side (mirrored).
Without a site, each photo gets a scene of its own. Captions name what a photo shows
("a snowy harbour town under a grey sky", "a sandy beach under a bright sky").

Outliers: a few *reserved regions* (spherical caps) in the warm latitudes are partly under snow
(``ALIEN``) beside a warm turquoise sea and under a deep tropical sky: each ingredient is common,
the mix occurs nowhere else (snow elsewhere comes with cold water and pale or grey skies).
``sample`` and ``sites`` never draw from them, so an index built from them has never seen such a
place; ``unindexed_places`` draws only from them. ``corrupt`` makes far-off outliers (noise,
blank, shuffled patches).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from string import Formatter

import numpy as np
import torch

from ..metrics.geo import unit_vectors   # also importable from here, as before
from .shapes import _as_rng, _check_n
from .words import WordTokenizer, fix_articles, split_words

TERRAINS = ("snow", "rock", "sand", "forest", "grass", "earth")   # ground classes
_TERRAIN_RGB = np.array([(0.92, 0.94, 0.97), (0.48, 0.45, 0.42), (0.87, 0.78, 0.52),
                         (0.13, 0.33, 0.14), (0.40, 0.62, 0.24),
                         (0.55, 0.45, 0.32)], np.float32)
_WATER_RGB = np.array([(0.12, 0.24, 0.40), (0.10, 0.55, 0.66)], np.float32)   # cold, warm
_SKY_RGB = np.array([(0.70, 0.76, 0.84), (0.28, 0.52, 0.92), (0.62, 0.64, 0.68)],  # pale, deep, grey
                    np.float32)

ADJECTIVES = ("snowy", "rocky", "sandy", "green", "dry")
QUALIFIERS = ("harbour", "mountain", "desert", "forest")   # for towns and cities
NOUNS = ("city", "town", "beach", "coast", "mountain", "forest", "desert", "meadow", "plain")
SKIES = ("bright", "grey", "pale", "dark")
TEMPLATES = ("a {adjective} {noun}", "a {adjective} {noun} under a {sky} sky",
             "a photo of a {adjective} {noun}", "a {noun} under a {sky} sky")
FULL_TEMPLATE = TEMPLATES[1]

LAND_FRACTION = 0.4
RESERVED_REGIONS = 4          # caps of unindexed places: tropical snow
RESERVED_RADIUS = 9.0         # degrees
ALIEN = 0.35                  # how strongly the reserved regions break the rules (0: not at all)
_MARGIN = 3.0                 # degrees kept clear between the index and a reserved cap
_CHUNK = 512
# materials of a photo's pixels; a palette per photo gives their colours
SKY, CLOUD, ROCK, SNOWCAP, TREE, WALL, WINDOW, SEA, TERRAIN = 0, 1, 2, 3, 4, 5, 7, 8, 9   # WALL: 5 and 6
MATERIALS = TERRAIN + len(TERRAINS)


def angular_distance(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle angle in degrees (broadcasting)."""
    dot = (unit_vectors(np.asarray(lat1), np.asarray(lon1))
           * unit_vectors(np.asarray(lat2), np.asarray(lon2))).sum(-1)
    return np.degrees(np.arccos(np.clip(dot, -1, 1)))


class _Field:
    """A smooth random function on the sphere: random Fourier features of the 3-D unit vector,
    an approximate Gaussian process with unit variance and length scale ≈ 1/frequency radians."""

    def __init__(self, rng: np.random.Generator, frequency: float, features: int = 48):
        self.w = rng.normal(0, frequency, (features, 3))
        self.b = rng.uniform(0, 2 * np.pi, features)

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        return np.sqrt(2 / len(self.b)) * np.cos(xyz @ self.w.T + self.b).sum(-1)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@dataclass
class PlaceLook:
    """What places look like: each field is (N,) in [0, 1] except ``elevation`` (field units,
    negative under the sea); ``sky`` is (N, 3) RGB. ``alien`` is 1 inside the reserved regions."""

    elevation: np.ndarray
    water: np.ndarray        # share of the ground that is sea
    relief: np.ndarray       # mountains on the horizon
    snow: np.ndarray
    rock: np.ndarray
    sand: np.ndarray
    vegetation: np.ndarray
    forest: np.ndarray       # the part of the vegetation that is trees
    towns: np.ndarray
    cloud: np.ndarray
    temperature: np.ndarray
    brightness: np.ndarray   # of the sky: the noon sun's height
    alien: np.ndarray
    sky: np.ndarray

    def ground(self) -> np.ndarray:
        """(N, len(TERRAINS)) shares of the land in each terrain class (rows sum to 1)."""
        rest = 1 - self.snow
        rock = rest * self.rock
        rest = rest * (1 - self.rock)
        sand = rest * self.sand
        rest = rest * (1 - self.sand)
        forest, grass = rest * self.forest, rest * (self.vegetation - self.forest)
        earth = rest * (1 - self.vegetation)
        return np.stack([self.snow, rock, sand, forest, grass, earth], -1)

    def mean_colour(self) -> np.ndarray:
        """(N, 3) the expected mean colour of a photo here (sky ≈ 42 % of the frame; skyline
        ignored): a summary of the look that tests use to check smoothness."""
        land = self.ground() @ _TERRAIN_RGB
        warm = np.clip(self.temperature, 0, 1)[:, None]
        sea = _WATER_RGB[0] * (1 - warm) + _WATER_RGB[1] * warm
        w = self.water[:, None]
        return 0.42 * self.sky + 0.58 * (w * sea + (1 - w) * land)

    def features(self) -> np.ndarray:
        """(N, 14) every field side by side (sky as three columns)."""
        cols = [self.water, self.relief, self.snow, self.rock, self.sand, self.vegetation,
                self.forest, self.towns, self.cloud, self.brightness, self.alien]
        return np.concatenate([np.stack(cols, -1), self.sky], -1)


@dataclass
class PlacesBatch:
    """Geo-tagged photos: images (N, 3, S, S) float32 in [0, 1], ``lat``/``lon`` in degrees
    (float64), the season of each photo (0 … 1, a fraction of the year), captions, tokens."""

    images: torch.Tensor
    lat: torch.Tensor
    lon: torch.Tensor
    season: torch.Tensor
    captions: list[str]
    tokens: torch.Tensor
    site: torch.Tensor | None = None   # (N,) int64 scene ids, when the photos were taken at sites

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> "PlacesBatch":
        """A sub-batch: ``batch[idx]`` with a slice, a boolean mask or int indices."""
        idx = torch.as_tensor(index) if not isinstance(index, slice) else index
        if isinstance(idx, torch.Tensor) and idx.ndim == 0:
            raise ValueError("index a PlacesBatch with a slice, a mask or a 1-D array of indices")
        rows = range(len(self))[idx] if isinstance(idx, slice) else torch.arange(len(self))[idx].tolist()
        pick = lambda t: None if t is None else t[idx]   # noqa: E731
        return PlacesBatch(self.images[idx], self.lat[idx], self.lon[idx], self.season[idx],
                           [self.captions[i] for i in rows], self.tokens[idx], pick(self.site))

    def __repr__(self) -> str:
        return f"PlacesBatch(images={tuple(self.images.shape)}, captions[0]={self.captions[0]!r})"


def _interpolation(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) linear-interpolation matrix: low-resolution noise → smooth patches."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    m = np.zeros((n_out, n_in), np.float32)
    m[np.arange(n_out), lo] += 1 - (pos - lo)
    m[np.arange(n_out), hi] += pos - lo
    return m


def _smooth_noise(rng: np.random.Generator, n: int, shape: tuple[int, int], size: int,
                  width: int | None = None) -> np.ndarray:
    """(n, size, width) smooth random patches: uniform noise on a coarse grid, interpolated."""
    low = rng.random((n, *shape), dtype=np.float32)
    return _interpolation(size, shape[0]) @ low @ _interpolation(width or size, shape[1]).T


class PlacesWorld:
    """The places world (see the module docstring). ``seed`` fixes the globe (its fields and
    reserved regions) and seeds the world's own stream of photos."""

    def __init__(self, seed: int = 0, *, image_size: int = 32, context_length: int = 12):
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if not isinstance(image_size, int) or image_size < 16:
            raise ValueError(f"image_size must be an int >= 16, got {image_size!r}")
        self.seed, self.image_size, self.context_length = seed, image_size, context_length
        self.pan = image_size // 4   # how far the camera may turn, in pixels either way
        rng = np.random.default_rng([seed, 1])
        self._continents, self._hills = _Field(rng, 2.2), _Field(rng, 6.0)
        self._moisture, self._warmth, self._towns = _Field(rng, 3.5), _Field(rng, 4.0), _Field(rng, 5.0)
        # sea level: the (1 - LAND_FRACTION) quantile of elevation over evenly spread points
        k = np.arange(20_000) + 0.5
        lat = np.degrees(np.arcsin(1 - 2 * k / len(k)))                   # a Fibonacci lattice
        lon = np.degrees(np.pi * (1 + 5 ** 0.5) * k) % 360 - 180
        self.sea_level = 0.0                                               # _elevation subtracts it
        self.sea_level = float(np.quantile(self._elevation(unit_vectors(lat, lon)), 1 - LAND_FRACTION))
        self.reserved = self._reserved_regions(rng)
        self.rng = np.random.default_rng([seed, 2])
        words = " ".join(TEMPLATES + ADJECTIVES + QUALIFIERS + NOUNS + SKIES)
        self.tokenizer = WordTokenizer(split_words(re.sub(r"\{\w+\}", " ", words)) + ["an"])

    # ---- the look of the globe
    def _elevation(self, xyz: np.ndarray) -> np.ndarray:
        # continents favour low and middle latitudes (|z| is the sine of the latitude)
        return (0.85 * self._continents(xyz) + 0.35 * self._hills(xyz)
                - 0.8 * np.abs(xyz[..., 2]) ** 3 - self.sea_level)

    def _reserved_regions(self, rng: np.random.Generator) -> np.ndarray:
        """(RESERVED_REGIONS, 2) cap centres (lat, lon): on land, below 50°, 30° or more apart."""
        centres: list[tuple[float, float]] = []
        while len(centres) < RESERVED_REGIONS:
            lat, lon = np.degrees(np.arcsin(rng.uniform(-0.75, 0.75))), rng.uniform(-180, 180)
            if (self._elevation(unit_vectors(np.array([lat]), np.array([lon])))[0] > 0.1
                    and all(angular_distance(lat, lon, a, b) > 30 for a, b in centres)):
                centres.append((lat, lon))
        return np.array(centres)

    def reserved_distance(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Degrees from each location to the nearest reserved region's centre."""
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        return angular_distance(lat[..., None], lon[..., None],
                                self.reserved[:, 0], self.reserved[:, 1]).min(-1)

    def look(self, lat, lon, season=None) -> PlaceLook:
        """The true look fields at locations (degrees). ``season`` (fraction of the year, 0 =
        northern midwinter) shifts temperature and sky brightness; None gives the annual mean."""
        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        if lat.shape != lon.shape:
            raise ValueError(f"lat and lon must have the same shape, got {lat.shape} and {lon.shape}")
        if np.any(np.abs(lat) > 90):
            raise ValueError("latitudes must lie in [-90, 90] degrees")
        xyz = unit_vectors(lat, lon)
        la = np.radians(lat)
        e = self._elevation(xyz)
        height = np.maximum(e, 0)
        s = 0.0 if season is None else np.asarray(season, float)
        temp = (1.05 * np.cos(la) - 0.3 * height + 0.12 * self._warmth(xyz)
                - 0.15 * np.sin(la) * np.cos(2 * np.pi * s) * (season is not None))
        moist = _sigmoid(1.4 * self._moisture(xyz) + 1.0 * np.exp(-(lat / 14) ** 2)
                         - 1.2 * np.exp(-((np.abs(lat) - 26) / 10) ** 2) + 0.3)
        water = _sigmoid(-e / 0.08)
        coast = np.exp(-(e / 0.15) ** 2)
        snow = _sigmoid((0.25 - temp) / 0.05)
        relief = _sigmoid((height - 0.9) / 0.15)
        rock = _sigmoid((height - 1.1) / 0.12)
        warm = _sigmoid((temp - 0.62) / 0.06)
        sand = np.maximum((1 - moist) * warm, 0.6 * coast * warm * (e > 0))   # deserts and beaches
        vegetation = _sigmoid((moist - 0.35) / 0.1) * _sigmoid((temp - 0.3) / 0.07) * (1 - sand)
        forest = vegetation * _sigmoid((moist - 0.6) / 0.1)
        towns = (_sigmoid((self._towns(xyz) + 2.2 * coast - 1.6) / 0.35)
                 * (1 - snow) * (1 - 0.85 * sand) * (1 - 0.7 * relief))
        cloud = 0.9 * _sigmoid((moist - 0.55) / 0.12)
        decl = 0.0 if season is None else 23.44 * np.sin(2 * np.pi * (s - 0.22))
        noon = np.clip(90 - np.abs(lat - decl), 0, 90)
        brightness = 0.55 + 0.45 * np.sin(np.radians(noon))
        # the reserved regions: snow under a clear tropical sky, beside a warm sea
        alien = ALIEN * _sigmoid((RESERVED_RADIUS - self.reserved_distance(lat, lon)) / 1.0)
        keep = 1 - alien
        snow = snow * keep + alien
        rock, sand, vegetation, forest, cloud = rock * keep, sand * keep, vegetation * keep, forest * keep, cloud * keep
        temp = temp * keep + alien            # the sea's colour: warm
        polar = np.maximum(np.cos(la), alien)[:, None] ** 2
        sky = _SKY_RGB[0] * (1 - polar) + _SKY_RGB[1] * polar
        sky = (sky * (1 - cloud[:, None]) + _SKY_RGB[2] * cloud[:, None]) * brightness[:, None]
        return PlaceLook(e, water, relief, snow, rock, sand, vegetation, forest, towns, cloud,
                         temp, brightness, alien, sky.astype(np.float32))

    # ---- captions
    def describe(self, look: PlaceLook, lat: np.ndarray, choice: np.ndarray | None = None,
                 template: str | None = None) -> list[str]:
        """A caption per photo from its look: template ``TEMPLATES[choice[i]]`` or ``template``."""
        g = look.ground()
        snow, rock, sand, forest, grass = g[:, 0], g[:, 1], g[:, 2], g[:, 3], g[:, 4]
        adjective = np.select([snow > 0.4, sand > 0.4, rock > 0.4, forest + grass > 0.5],
                              [0, 2, 1, 3], 4)
        qualifier = np.select([look.water > 0.3, look.relief > 0.5, sand > 0.4, forest > 0.4],
                              [0, 1, 2, 3], -1)
        noun = np.select([look.towns > 0.55, look.towns > 0.3, (look.water > 0.3) & (sand > 0.3),
                          look.water > 0.3, look.relief > 0.5, forest > 0.4, sand > 0.4,
                          grass > 0.35], [0, 1, 2, 3, 4, 5, 6, 7], 8)
        sky = np.select([look.brightness < 0.72, look.cloud > 0.5, np.abs(lat) > 55], [3, 1, 2], 0)
        out = []
        for i in range(len(noun)):
            name = NOUNS[noun[i]]
            if noun[i] <= 1 and qualifier[i] >= 0:
                name = f"{QUALIFIERS[qualifier[i]]} {name}"
            t = template or TEMPLATES[0 if choice is None else choice[i]]
            out.append(fix_articles(t.format(adjective=ADJECTIVES[adjective[i]], noun=name,
                                             sky=SKIES[sky[i]])))
        return out

    # ---- photos
    def photos(self, lat, lon, seed: int | np.random.Generator | None = None,
               template: str | None = None, site=None) -> PlacesBatch:
        """Photos taken at the given locations (degrees), one each, with random season, clouds,
        exposure and layout. ``site``: (N,) non-negative int ids; photos with one id show one
        scene (the same ridge, trees, buildings and ground), as photos of one place do."""
        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        if lat.ndim != 1 or lat.shape != lon.shape or len(lat) == 0:
            raise ValueError(f"lat and lon must be 1-D, of one non-zero length, got {lat.shape} and "
                             f"{lon.shape}")
        if template is not None:
            names = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
            if not names or not names <= {"adjective", "noun", "sky"}:
                raise ValueError(f"template {template!r} must name some of {{adjective}}, {{noun}}, {{sky}}")
        if site is not None:
            site = np.asarray(site)
            if site.shape != lat.shape or not np.issubdtype(site.dtype, np.integer) or site.min() < 0:
                raise ValueError(f"site must hold one non-negative int id per photo ({len(lat)}), got "
                                 f"{site.dtype} of shape {site.shape}")
        rng = _as_rng(seed, self.rng)
        n, side = len(lat), self.image_size
        season = rng.random(n)
        choice = rng.integers(len(TEMPLATES), size=n)
        images = np.empty((n, 3, side, side), np.float32)
        captions: list[str] = []
        for lo in range(0, n, _CHUNK):
            sl = slice(lo, lo + _CHUNK)
            look = self.look(lat[sl], lon[sl], season[sl])
            layout = self._layout(len(look.water), rng, None if site is None else site[sl])
            images[sl] = self._render(rng, look, layout)
            captions += self.describe(look, lat[sl], choice[sl], template)
        wrap = (lon + 180) % 360 - 180
        return PlacesBatch(torch.from_numpy(images), torch.from_numpy(lat), torch.from_numpy(wrap),
                           torch.from_numpy(season), captions,
                           self.tokenizer.encode(captions, self.context_length),
                           None if site is None else torch.from_numpy(site.astype(np.int64)))

    def _layout(self, n: int, rng: np.random.Generator | None, site: np.ndarray | None) -> dict:
        """The random draws that fix a scene's layout — horizon, ridge, trees, buildings, ground
        patches, the palette's jitter —: from ``rng`` for each photo, or, when ``site`` ids are
        given, from a stream of the site's own, so every photo of one site shows one scene."""
        wide = self.image_size + 2 * self.pan
        blocks = wide // 3 + 2

        def draw(g: np.random.Generator, m: int) -> dict:
            return {"horizon": g.uniform(-0.07, 0.07, m),
                    "ridge_f": g.uniform((0.6, 2.0), (1.6, 4.0), (m, 2)).astype(np.float32),
                    "ridge_phase": g.uniform(0, 2 * np.pi, (m, 2)).astype(np.float32),
                    "tree_h": g.uniform(1.0, 4.5, (m, 1, wide // 2)).astype(np.float32),
                    "tree_u": g.random((m, 1, wide // 2), dtype=np.float32),
                    "offset": g.integers(0, 3, (m, 1, 1)),
                    "block_u": g.random((m, blocks), dtype=np.float32),
                    "tall": g.uniform(0.15, 0.35, (m, blocks)),
                    "wall": g.integers(0, 2, (m, blocks), dtype=np.uint8),
                    "patches": g.random((m, 6, 10), dtype=np.float32),
                    "tint": g.uniform(0.9, 1.08, (m, 1, 1)) * g.uniform(0.97, 1.03, (m, 1, 3))}

        if site is None:
            return draw(rng, n)
        ids, where = np.unique(site, return_inverse=True)
        per_site = [draw(np.random.default_rng([self.seed, 3, int(i)]), 1) for i in ids]
        return {k: np.concatenate([d[k] for d in per_site])[where] for k in per_site[0]}

    def _render(self, rng: np.random.Generator, look: PlaceLook, layout: dict) -> np.ndarray:
        """Photos of ``look`` with scene ``layout``: a map of material ids per pixel, then one
        palette look-up. The scene is drawn ``pan`` pixels wider on each side than the photo, which
        frames a part of it. What changes from photo to photo of one scene — where the camera
        points, clouds, a small tilt of the horizon, the waves, the exposure, sensor noise — comes
        from ``rng``."""
        n, side, wide = len(look.water), self.image_size, self.image_size + 2 * self.pan
        ys = np.arange(side, dtype=np.float32)[None, :, None]           # (1, S, 1)
        xs = np.arange(wide)[None, None, :]                             # (1, 1, W)
        col = lambda a: np.asarray(a, np.float32)[:, None, None]       # noqa: E731  (N,) → (N,1,1)
        horizon = col(0.42 + layout["horizon"] + rng.uniform(-0.015, 0.015, n)) * side
        above = ys < horizon                                             # (N, S, 1)
        height = horizon - ys                                            # pixels above the horizon
        mat = np.where(above, SKY, SEA).astype(np.uint8) * np.ones((1, 1, wide), np.uint8)

        # clouds: smooth blobs in the upper sky, as many as the place is cloudy
        clouds = (_smooth_noise(rng, n, (6, 6), side, wide) < 0.7 * col(look.cloud)) & (ys < 0.8 * horizon)
        mat[clouds] = CLOUD
        # mountains: a ridge as high as the relief, snow-capped when cold
        f, phase = layout["ridge_f"], layout["ridge_phase"]
        x = xs.astype(np.float32) / side
        ridge = (0.55 + 0.3 * np.sin(2 * np.pi * f[:, :1, None] * x + phase[:, :1, None])
                 + 0.15 * np.sin(2 * np.pi * f[:, 1:, None] * x + phase[:, 1:, None]))
        ridge = ridge * col(look.relief) * 0.75 * horizon               # (N, 1, S)
        mountain = above & (height < ridge)
        mat[mountain] = ROCK
        mat[mountain & (height > ridge * (0.75 - 0.5 * col(look.snow)))] = SNOWCAP
        # trees along the horizon, then buildings in blocks of 3 columns, with lit windows
        tree = layout["tree_h"] * (layout["tree_u"] < 1.2 * col(look.forest))
        mat[above & (height < np.repeat(tree, 2, 2))] = TREE             # two pixels wide
        offset = layout["offset"]
        block = ((xs + offset) // 3)[:, 0]                               # (N, S)
        present = layout["block_u"] < 1.1 * look.towns[:, None]
        tall = layout["tall"] + 0.45 * look.towns[:, None]
        top = np.take_along_axis(present * tall * side * 0.42, block, 1)[:, None]
        wall = WALL + np.take_along_axis(layout["wall"], block, 1)[:, None]
        building = above & (height < top)
        window = ((xs + offset) % 3 == 1) & (height.astype(int) % 3 == 1) & (height > 1)
        mat = np.where(building, np.where(window, WINDOW, wall), mat)
        # ground: sea from the horizon down, then patches of land in the terrain's shares
        below = ~above
        land = below & (ys - horizon >= col(look.water) * (side - horizon) * 1.05)
        patches = (_interpolation(side, 6) @ layout["patches"] @ _interpolation(wide, 10).T).reshape(n, -1)
        # per-image quantiles, so each terrain covers its share of the frame
        cuts = np.cumsum(look.ground(), 1)[:, :-1]
        at = np.minimum(cuts * side * wide, side * wide - 1).astype(int)
        level = np.take_along_axis(np.sort(patches, 1), at, 1)
        terrain = np.full(patches.shape, TERRAIN, np.uint8)
        for k in range(cuts.shape[1]):
            terrain += patches > level[:, k:k + 1]
        mat = np.where(land, terrain.reshape(n, side, wide), mat)
        # the camera frames side × side pixels of the scene
        left = rng.integers(0, 2 * self.pan + 1, n)[:, None, None] + np.arange(side)
        mat = np.take_along_axis(mat, np.broadcast_to(left, (n, side, side)), 2)
        mirror = rng.random(n) < 0.5      # or from the other side
        mat[mirror] = mat[mirror, :, ::-1]

        # colours: one palette per photo, shading for the sky's gradient and the waves
        palette = self._palette(look, layout["tint"]).transpose(0, 2, 1)   # (N, 3, MATERIALS)
        img = np.take_along_axis(palette, mat.reshape(n, 1, -1), 2).reshape(n, 3, side, side)
        t = np.clip(ys / horizon, 0, 1)
        waves = 1 + 0.08 * np.sin(ys * 2.1 + col(rng.uniform(0, 6.3, n)))
        shade = np.where(above, 0.8 + 0.3 * t, np.where(land, 1.0, waves))
        shade = shade * np.exp(col(rng.normal(0, 0.12, n)))               # the camera's exposure
        img *= shade[:, None]
        img += rng.integers(0, 256, img.shape, dtype=np.uint8).astype(np.float32) * (0.05 / 255) - 0.025
        return np.clip(img, 0, 1)

    @staticmethod
    def _palette(look: PlaceLook, tint: np.ndarray) -> np.ndarray:
        """(N, MATERIALS, 3) colours of each photo's materials, the solid ones ``tint``ed (N, 1, 3)."""
        n = len(look.water)
        pal = np.empty((n, MATERIALS, 3), np.float32)
        pal[:, SKY] = look.sky
        pal[:, CLOUD] = 0.9 * look.brightness[:, None]
        pal[:, ROCK] = (0.46, 0.44, 0.42)
        pal[:, SNOWCAP] = (0.93, 0.94, 0.96)
        pal[:, TREE] = (0.10, 0.28, 0.11)
        pal[:, WALL] = (0.62, 0.60, 0.56)
        pal[:, WALL + 1] = (0.45, 0.44, 0.43)
        pal[:, WINDOW] = (0.95, 0.90, 0.70)
        warm = np.clip(look.temperature, 0, 1)[:, None]
        pal[:, SEA] = _WATER_RGB[0] * (1 - warm) + _WATER_RGB[1] * warm
        pal[:, TERRAIN:] = _TERRAIN_RGB
        pal[:, ROCK:] *= tint
        return np.clip(pal, 0, 1)

    # ---- sampling
    def _locations(self, rng: np.random.Generator, n: int, reserved: bool) -> tuple[np.ndarray, np.ndarray]:
        lats, lons, have = [], [], 0
        while have < n:   # rejection sampling, uniform on the sphere
            lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 4 * n)))
            lon = rng.uniform(-180, 180, 4 * n)
            d = self.reserved_distance(lat, lon)
            if reserved:
                ok = d < RESERVED_RADIUS - _MARGIN
            else:
                ok = (d > RESERVED_RADIUS + _MARGIN) & (self._elevation(unit_vectors(lat, lon)) > -0.05)
            lats.append(lat[ok])
            lons.append(lon[ok])
            have += ok.sum()
        return np.concatenate(lats)[:n], np.concatenate(lons)[:n]

    def sample(self, n: int, seed: int | np.random.Generator | None = None,
               template: str | None = None) -> PlacesBatch:
        """``n`` geo-tagged photos of indexed places: uniform over land and shore, outside the
        reserved regions."""
        _check_n(n)
        rng = _as_rng(seed, self.rng)
        lat, lon = self._locations(rng, n, reserved=False)
        return self.photos(lat, lon, rng, template)

    def sites(self, n: int, seed: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of ``n`` sites — places people photograph —, uniform over land and shore,
        outside the reserved regions."""
        _check_n(n)
        return self._locations(_as_rng(seed, self.rng), n, reserved=False)

    def site_photos(self, lat, lon, per_site: int, seed: int | np.random.Generator | None = None,
                    spread_km: float = 0.5, first_id: int = 0, template: str | None = None) -> PlacesBatch:
        """``per_site`` photos at each site (lat, lon): each taken up to ``spread_km`` from it, on
        its own day (season, clouds, exposure), all showing the site's one scene. Site ``i`` has id
        ``first_id + i`` (``batch.site``); photos are grouped by site."""
        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        if not isinstance(per_site, (int, np.integer)) or per_site < 1:
            raise ValueError(f"per_site must be a positive int, got {per_site!r}")
        if spread_km < 0:
            raise ValueError(f"spread_km must be >= 0, got {spread_km}")
        rng = _as_rng(seed, self.rng)
        site = np.repeat(np.arange(len(lat)) + first_id, per_site)
        # a uniform point in a small disc: offsets in km → degrees (1° of latitude ≈ 111.2 km)
        r = spread_km * np.sqrt(rng.random(len(site)))
        bearing = rng.uniform(0, 2 * np.pi, len(site))
        plat = np.clip(np.repeat(lat, per_site) + r * np.cos(bearing) / 111.2, -90, 90)
        coslat = np.maximum(np.cos(np.radians(plat)), 1e-3)
        plon = np.repeat(lon, per_site) + r * np.sin(bearing) / (111.2 * coslat)
        return self.photos(plat, plon, rng, template, site=site)

    def unindexed_places(self, n: int, seed: int | np.random.Generator | None = None,
                         template: str | None = None) -> PlacesBatch:
        """``n`` photos from the reserved regions, which ``sample`` never draws: places that
        exist nowhere in an index built from ``sample``."""
        _check_n(n)
        rng = _as_rng(seed, self.rng)
        lat, lon = self._locations(rng, n, reserved=True)
        return self.photos(lat, lon, rng, template)

    def __repr__(self) -> str:
        return (f"PlacesWorld(seed={self.seed}, image_size={self.image_size}, "
                f"{len(self.reserved)} reserved regions, vocab_size={self.tokenizer.vocab_size})")


CORRUPTIONS = ("noise", "blank", "shuffle")


def corrupt(images: torch.Tensor, kind: str, seed: int = 0, patch: int = 8) -> torch.Tensor:
    """Far-off outliers for sanity checks: "noise" (uniform random pixels), "blank" (one flat
    random colour per image, with faint noise) or "shuffle" (``patch``×``patch`` tiles in a
    random order, different per image). Returns a new tensor."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"kind must be one of {CORRUPTIONS}, got {kind!r}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a (N, C, H, W) tensor, got {type(images).__name__} "
                         f"of shape {tuple(getattr(images, 'shape', ()))}")
    rng = _as_rng(seed, None)
    n, c, h, w = images.shape
    if kind == "noise":
        out = rng.random((n, c, h, w), dtype=np.float32)
    elif kind == "blank":
        out = rng.random((n, c, 1, 1), dtype=np.float32) + rng.uniform(-0.01, 0.01, (n, c, h, w))
        out = np.clip(out, 0, 1).astype(np.float32)
    else:
        if h % patch or w % patch:
            raise ValueError(f"patch={patch} must divide the image size {h}×{w}")
        gh, gw = h // patch, w // patch
        tiles = images.numpy().reshape(n, c, gh, patch, gw, patch).transpose(0, 2, 4, 1, 3, 5)
        tiles = tiles.reshape(n, gh * gw, c, patch, patch)
        order = np.argsort(rng.random((n, gh * gw)), 1)
        tiles = tiles[np.arange(n)[:, None], order]
        out = tiles.reshape(n, gh, gw, c, patch, patch).transpose(0, 3, 1, 4, 2, 5).reshape(n, c, h, w)
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))
