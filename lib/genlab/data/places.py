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

Each photo adds its own jitter: season, horizon height, camera exposure, where the patches of
ground and the buildings fall, pixel noise. Captions name what a photo shows
("a snowy harbour town under a grey sky", "a sandy beach under a bright sky").

Outliers: a few *reserved regions* (spherical caps) hold a red desert crowded with towers, a
mix that occurs nowhere else. ``sample`` never draws from them, so an index built from it has
never seen such a place; ``unindexed_places`` draws only from them. ``corrupt`` makes far-off
outliers (noise, blank, shuffled patches).
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

TERRAINS = ("snow", "rock", "sand", "red sand", "forest", "grass", "earth")   # ground classes
_TERRAIN_RGB = np.array([(0.92, 0.94, 0.97), (0.48, 0.45, 0.42), (0.87, 0.78, 0.52),
                         (0.80, 0.36, 0.20), (0.13, 0.33, 0.14), (0.40, 0.62, 0.24),
                         (0.55, 0.45, 0.32)], np.float32)
_WATER_RGB = np.array([(0.12, 0.24, 0.40), (0.10, 0.55, 0.66)], np.float32)   # cold, warm
_SKY_RGB = np.array([(0.70, 0.76, 0.84), (0.28, 0.52, 0.92), (0.62, 0.64, 0.68)],  # pale, deep, grey
                    np.float32)

ADJECTIVES = ("snowy", "rocky", "sandy", "red", "green", "dry")
QUALIFIERS = ("harbour", "mountain", "desert", "forest")   # for towns and cities
NOUNS = ("city", "town", "beach", "coast", "mountain", "forest", "desert", "meadow", "plain")
SKIES = ("bright", "grey", "pale", "dark")
TEMPLATES = ("a {adjective} {noun}", "a {adjective} {noun} under a {sky} sky",
             "a photo of a {adjective} {noun}", "a {noun} under a {sky} sky")
FULL_TEMPLATE = TEMPLATES[1]

LAND_FRACTION = 0.4
RESERVED_REGIONS = 4          # caps of the unindexed red-desert towns
RESERVED_RADIUS = 9.0         # degrees
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
        return np.stack([self.snow, rock, sand * (1 - self.alien), sand * self.alien,
                         forest, grass, earth], -1)

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

    def __len__(self) -> int:
        return len(self.images)

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


def _smooth_noise(rng: np.random.Generator, n: int, shape: tuple[int, int], size: int) -> np.ndarray:
    """(n, size, size) smooth random patches: uniform noise on a coarse grid, interpolated."""
    low = rng.random((n, *shape), dtype=np.float32)
    return _interpolation(size, shape[0]) @ low @ _interpolation(size, shape[1]).T


class PlacesWorld:
    """The places world (see the module docstring). ``seed`` fixes the globe (its fields and
    reserved regions) and seeds the world's own stream of photos."""

    def __init__(self, seed: int = 0, *, image_size: int = 32, context_length: int = 12):
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if not isinstance(image_size, int) or image_size < 16:
            raise ValueError(f"image_size must be an int >= 16, got {image_size!r}")
        self.seed, self.image_size, self.context_length = seed, image_size, context_length
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
        # the reserved regions: a red desert crowded with towers under a clear sky
        alien = _sigmoid((RESERVED_RADIUS - self.reserved_distance(lat, lon)) / 1.0)
        keep = 1 - alien
        water, relief, snow, rock = water * keep, relief * keep, snow * keep, rock * keep
        vegetation, forest, cloud = vegetation * keep, forest * keep, cloud * keep
        sand, towns = sand * keep + alien, towns * keep + alien
        polar = np.cos(la)[:, None] ** 2
        sky = _SKY_RGB[0] * (1 - polar) + _SKY_RGB[1] * polar
        sky = (sky * (1 - cloud[:, None]) + _SKY_RGB[2] * cloud[:, None]) * brightness[:, None]
        return PlaceLook(e, water, relief, snow, rock, sand, vegetation, forest, towns, cloud,
                         temp, brightness, alien, sky.astype(np.float32))

    # ---- captions
    def describe(self, look: PlaceLook, lat: np.ndarray, choice: np.ndarray | None = None,
                 template: str | None = None) -> list[str]:
        """A caption per photo from its look: template ``TEMPLATES[choice[i]]`` or ``template``."""
        g = look.ground()
        snow, rock, sand, red, forest, grass = g[:, 0], g[:, 1], g[:, 2], g[:, 3], g[:, 4], g[:, 5]
        adjective = np.select([red > 0.35, snow > 0.4, sand > 0.4, rock > 0.4, forest + grass > 0.5],
                              [3, 0, 2, 1, 4], 5)
        qualifier = np.select([look.water > 0.3, look.relief > 0.5, sand + red > 0.4, forest > 0.4],
                              [0, 1, 2, 3], -1)
        noun = np.select([look.towns > 0.55, look.towns > 0.3, (look.water > 0.3) & (sand > 0.3),
                          look.water > 0.3, look.relief > 0.5, forest > 0.4, sand + red > 0.4,
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
               template: str | None = None) -> PlacesBatch:
        """Photos taken at the given locations (degrees), one each, with random season, horizon,
        exposure and layout."""
        lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
        if lat.ndim != 1 or lat.shape != lon.shape or len(lat) == 0:
            raise ValueError(f"lat and lon must be 1-D, of one non-zero length, got {lat.shape} and "
                             f"{lon.shape}")
        if template is not None:
            names = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
            if not names or not names <= {"adjective", "noun", "sky"}:
                raise ValueError(f"template {template!r} must name some of {{adjective}}, {{noun}}, {{sky}}")
        rng = _as_rng(seed, self.rng)
        n, side = len(lat), self.image_size
        season = rng.random(n)
        choice = rng.integers(len(TEMPLATES), size=n)
        images = np.empty((n, 3, side, side), np.float32)
        captions: list[str] = []
        for lo in range(0, n, _CHUNK):
            sl = slice(lo, lo + _CHUNK)
            look = self.look(lat[sl], lon[sl], season[sl])
            images[sl] = self._render(rng, look)
            captions += self.describe(look, lat[sl], choice[sl], template)
        wrap = (lon + 180) % 360 - 180
        return PlacesBatch(torch.from_numpy(images), torch.from_numpy(lat), torch.from_numpy(wrap),
                           torch.from_numpy(season), captions,
                           self.tokenizer.encode(captions, self.context_length))

    def _render(self, rng: np.random.Generator, look: PlaceLook) -> np.ndarray:
        """Photos of ``look``: a map of material ids per pixel, then one palette look-up."""
        n, side = len(look.water), self.image_size
        ys = np.arange(side, dtype=np.float32)[None, :, None]           # (1, S, 1)
        xs = np.arange(side)[None, None, :]                             # (1, 1, S)
        col = lambda a: np.asarray(a, np.float32)[:, None, None]       # noqa: E731  (N,) → (N,1,1)
        horizon = col(0.42 + rng.uniform(-0.08, 0.08, n)) * side
        above = ys < horizon                                             # (N, S, 1)
        height = horizon - ys                                            # pixels above the horizon
        mat = np.where(above, SKY, SEA).astype(np.uint8) * np.ones((1, 1, side), np.uint8)

        # clouds: smooth blobs in the upper sky, as many as the place is cloudy
        clouds = (_smooth_noise(rng, n, (6, 4), side) < 0.7 * col(look.cloud)) & (ys < 0.8 * horizon)
        mat[clouds] = CLOUD
        # mountains: a ridge as high as the relief, snow-capped when cold
        f = rng.uniform((0.6, 2.0), (1.6, 4.0), (n, 2)).astype(np.float32)
        phase = rng.uniform(0, 2 * np.pi, (n, 2)).astype(np.float32)
        x = xs.astype(np.float32) / side
        ridge = (0.55 + 0.3 * np.sin(2 * np.pi * f[:, :1, None] * x + phase[:, :1, None])
                 + 0.15 * np.sin(2 * np.pi * f[:, 1:, None] * x + phase[:, 1:, None]))
        ridge = ridge * col(look.relief) * 0.75 * horizon               # (N, 1, S)
        mountain = above & (height < ridge)
        mat[mountain] = ROCK
        mat[mountain & (height > ridge * (0.75 - 0.5 * col(look.snow)))] = SNOWCAP
        # trees along the horizon, then buildings in blocks of 3 columns, with lit windows
        tree = rng.uniform(1.0, 4.5, (n, 1, side // 2)).astype(np.float32)
        tree *= rng.random((n, 1, side // 2), dtype=np.float32) < 1.2 * col(look.forest)
        mat[above & (height < np.repeat(tree, 2, 2))] = TREE             # two pixels wide
        offset = rng.integers(0, 3, (n, 1, 1))
        block = ((xs + offset) // 3)[:, 0]                               # (N, S)
        blocks = side // 3 + 2
        present = rng.random((n, blocks), dtype=np.float32) < 1.1 * look.towns[:, None]
        tall = rng.uniform(0.15, 0.35, (n, blocks)) + 0.45 * look.towns[:, None] + 0.15 * look.alien[:, None]
        top = np.take_along_axis(present * tall * side * 0.42, block, 1)[:, None]
        wall = WALL + np.take_along_axis(rng.integers(0, 2, (n, blocks), dtype=np.uint8), block, 1)[:, None]
        building = above & (height < top)
        window = ((xs + offset) % 3 == 1) & (height.astype(int) % 3 == 1) & (height > 1)
        mat = np.where(building, np.where(window, WINDOW, wall), mat)
        # ground: sea from the horizon down, then patches of land in the terrain's shares
        below = ~above
        land = below & (ys - horizon >= col(look.water) * (side - horizon) * 1.05)
        patches = _smooth_noise(rng, n, (6, 8), side).reshape(n, -1)
        # per-image quantiles, so each terrain covers its share of the frame
        cuts = np.cumsum(look.ground(), 1)[:, :-1]
        at = np.minimum(cuts * side * side, side * side - 1).astype(int)
        level = np.take_along_axis(np.sort(patches, 1), at, 1)
        terrain = np.full(patches.shape, TERRAIN, np.uint8)
        for k in range(cuts.shape[1]):
            terrain += patches > level[:, k:k + 1]
        mat = np.where(land, terrain.reshape(n, side, side), mat)

        # colours: one palette per photo, shading for the sky's gradient and the waves
        palette = self._palette(rng, look).transpose(0, 2, 1)           # (N, 3, MATERIALS)
        img = np.take_along_axis(palette, mat.reshape(n, 1, -1), 2).reshape(n, 3, side, side)
        t = np.clip(ys / horizon, 0, 1)
        waves = 1 + 0.08 * np.sin(ys * 2.1 + col(rng.uniform(0, 6.3, n)))
        shade = np.where(above, 0.8 + 0.3 * t, np.where(land, 1.0, waves))
        shade = shade * np.exp(col(rng.normal(0, 0.12, n)))               # the camera's exposure
        img *= shade[:, None]
        img += rng.integers(0, 256, img.shape, dtype=np.uint8).astype(np.float32) * (0.05 / 255) - 0.025
        return np.clip(img, 0, 1)

    @staticmethod
    def _palette(rng: np.random.Generator, look: PlaceLook) -> np.ndarray:
        """(N, MATERIALS, 3) colours of each photo's materials, with a little jitter."""
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
        pal[:, ROCK:] *= rng.uniform(0.9, 1.08, (n, 1, 1)) * rng.uniform(0.97, 1.03, (n, 1, 3))
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
