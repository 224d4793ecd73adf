"""Unit tests for the procedurally generated worlds of 10_clip and 11_clip_applications:
genlab.data.words, shapes, places and distortions. Small batches only: seconds in all."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import (PlacesWorld, ShapesWorld, WordTokenizer, blur, contrast, corrupt, distort,
                         exposure, jpeg, laplacian_variance, mos, noise, quality_dataset)
from genlab.data import distortions as D
from genlab.data import places as P
from genlab.metrics.geo import haversine_km
from genlab.data import shapes as S


@pytest.fixture(scope="module")
def shapes():
    return ShapesWorld(0)


@pytest.fixture(scope="module")
def places():
    return PlacesWorld(0)


def _images(n=8, seed=0):
    return ShapesWorld(seed).sample(n, seed=seed).images


# ---- words
def test_tokenizer_layout_round_trip_and_padding():
    tok = WordTokenizer(["red", "circle", "a", ",", "red"])
    assert tok.itos[0] == "<pad>" and tok.itos[1] == "<sot>" and tok.itos[-1] == "<eot>"
    assert (tok.pad_id, tok.sot_id, tok.eot_id) == (0, 1, 6) and tok.vocab_size == 7
    ids = tok.encode(["a red circle", "circle, red"], context_length=8)
    assert ids.dtype == torch.long and ids.shape == (2, 8)
    assert ids[0].tolist()[:5] == [1, tok.stoi["a"], tok.stoi["red"], tok.stoi["circle"], tok.eot_id]
    assert (ids[:, 5:] == 0).all()
    assert ids.argmax(-1).tolist() == [4, 4]          # CLIP pools at the EOT: the highest id
    assert tok.decode(ids) == ["a red circle", "circle, red"] and tok.decode(ids[1]) == "circle, red"
    assert tok.encode("a red circle", 8).shape == (1, 8)


def test_tokenizer_errors_and_truncation():
    tok = WordTokenizer(["a", "red", "circle"])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.encode("a blue circle")
    with pytest.raises(ValueError, match="truncate=True"):
        tok.encode("a red circle", context_length=4)
    cut = tok.encode("a red circle", context_length=4, truncate=True)
    assert cut[0].tolist() == [1, tok.stoi["a"], tok.stoi["red"], tok.eot_id]
    with pytest.raises(ValueError, match="ids must lie"):
        tok.decode([0, 99])
    with pytest.raises(ValueError, match="at least one word"):
        WordTokenizer([])


# ---- shapes world
def test_shapes_batches_are_seeded_and_well_formed(shapes):
    a, b = shapes.sample(40, seed=3), ShapesWorld(5).sample(40, seed=3)
    assert torch.equal(a.images, b.images) and a.captions == b.captions and torch.equal(a.shape, b.shape)
    assert not torch.equal(a.images, shapes.sample(40, seed=4).images)
    first, again = ShapesWorld(1).sample(30), ShapesWorld(1).sample(30)   # the world's own stream
    assert torch.equal(first.images, again.images)
    assert a.images.shape == (40, 3, 32, 32) and a.images.dtype == torch.float32
    assert 0 <= a.images.min() and a.images.max() <= 1
    for name, values in S.ATTRIBUTES.items():
        ids = getattr(a, name)
        assert ids.dtype == torch.int64 and ids.shape == (40,) and 0 <= ids.min() and ids.max() < len(values)
    assert torch.equal(a.tokens, shapes.tokenizer.encode(a.captions, 16))
    assert ShapesWorld(0, image_size=24).sample(2, seed=0).images.shape == (2, 3, 24, 24)


def test_heldout_combinations_are_balanced_and_never_trained(shapes):
    mask = shapes.heldout
    assert mask.sum() == 16 and (mask.sum(0) == 2).all() and (mask.sum(1) == 2).all()
    assert np.array_equal(mask, ShapesWorld(7).heldout)            # fixed, whatever the seed
    train = shapes.sample(2000, seed=0)
    assert not shapes.is_heldout(train.shape, train.colour).any()
    assert set(train.shape.tolist()) == set(range(8)) and set(train.colour.tolist()) == set(range(8))
    held = shapes.sample(300, split="heldout", seed=0)
    assert shapes.is_heldout(held.shape, held.colour).all()
    assert len({(s, c) for s, c in zip(held.shape.tolist(), held.colour.tolist())}) == 16


def test_captions_parse_back_to_attributes():
    world = ShapesWorld(0, textures=True)
    batch = world.sample(200, split="all", seed=1)
    assert len({c.split(" a ")[0] for c in batch.captions}) > 3        # several templates in use
    for i, caption in enumerate(batch.captions):
        for name, value in world.parse(caption).items():
            assert getattr(batch, name)[i] == value, (caption, name)
    full = world.sample(20, seed=2, template=S.FULL_TEMPLATE)
    for i, caption in enumerate(full.captions):
        assert world.parse(caption) == {k: int(getattr(full, k)[i]) for k in S.ATTRIBUTES}
    assert set(batch.texture.tolist()) == {0, 1, 2}
    assert "an orange" in world.caption("a {colour} {shape}", colour=1, shape=0)


def test_prompts_and_labels_line_up(shapes):
    template = "a photo of a {colour} {shape}"
    prompts = shapes.prompts(template)
    assert len(prompts) == 64 and len(set(prompts)) == 64
    batch = shapes.sample(50, seed=0)
    for prompt, s, c in zip(np.array(prompts)[shapes.labels(batch, template)], batch.shape, batch.colour):
        assert shapes.parse(prompt) == {"shape": s, "colour": c}
    for template in S.PROMPT_TEMPLATES:           # every zero-shot prompt is in the vocabulary
        shapes.tokenizer.encode(shapes.prompts(template), 16)


def test_two_objects_swap_bindings_not_words(shapes):
    two = shapes.two_objects(60, seed=0)
    assert two.images.shape == (60, 3, 32, 32) and two.shape.shape == (60, 2)
    assert (two.shape[:, 0] != two.shape[:, 1]).all() and (two.colour[:, 0] != two.colour[:, 1]).all()
    for caption, swapped in zip(two.captions, two.swapped):
        assert caption != swapped and sorted(caption.split()) == sorted(swapped.split())
    assert not shapes.is_heldout(two.shape.flatten(), two.colour.flatten()).any()
    assert torch.equal(two.images, shapes.two_objects(60, seed=0).images)
    assert two.tokens.shape == two.swapped_tokens.shape == (60, 16)


def test_draw_shapes_size_and_distinct_masks():
    n = len(S.SHAPES)
    def masks(radius):
        canvas = np.zeros((n, 3, 32, 32), np.float32)
        S.draw_shapes(canvas, np.arange(n), np.ones((n, 3)), np.full((n, 2), 16.0),
                      np.full(n, radius), np.zeros(n))
        return canvas[:, 0]
    small, large = masks(4.5), masks(7.4)
    assert (large.sum((1, 2)) > 1.8 * small.sum((1, 2))).all()
    binary = large > 0.5
    inter = (binary[:, None] & binary[None]).sum((2, 3))
    union = (binary[:, None] | binary[None]).sum((2, 3))
    iou = inter / union
    assert (iou[~np.eye(n, dtype=bool)] < 0.85).all()                # no two shapes alike


def test_shapes_bad_arguments(shapes):
    with pytest.raises(ValueError, match="split"):
        shapes.sample(4, split="test")
    with pytest.raises(ValueError, match="positive int"):
        shapes.sample(0)
    with pytest.raises(ValueError, match="seed"):
        shapes.sample(4, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        ShapesWorld(1.5)
    with pytest.raises(ValueError, match="must name attributes"):
        shapes.prompts("a {hue} thing")
    with pytest.raises(ValueError, match="textures=True"):
        shapes.prompts("a {texture} {shape}")
    with pytest.raises(ValueError, match="needs the attribute"):
        shapes.caption("a {colour} {shape}", colour=1)
    with pytest.raises(ValueError, match="too short"):
        ShapesWorld(0, context_length=8)
    with pytest.raises(ValueError, match="two shapes"):
        shapes.parse("a red circle and a blue square")


# ---- places world
def test_places_batches_are_seeded_and_well_formed(places):
    a, b = places.sample(30, seed=1), PlacesWorld(0).sample(30, seed=1)
    assert torch.equal(a.images, b.images) and torch.equal(a.lat, b.lat) and a.captions == b.captions
    assert not torch.equal(a.images, places.sample(30, seed=2).images)
    assert not torch.equal(a.images, PlacesWorld(1).sample(30, seed=1).images)   # another globe
    assert a.images.shape == (30, 3, 32, 32) and a.images.dtype == torch.float32
    assert 0 <= a.images.min() and a.images.max() <= 1
    assert a.lat.dtype == torch.float64 and a.lat.abs().max() <= 90 and a.lon.abs().max() <= 180
    assert torch.equal(a.tokens, places.tokenizer.encode(a.captions, 12))
    assert (a.tokens.argmax(-1) == (a.tokens != 0).sum(-1) - 1).all()  # EOT last, highest


def test_places_look_is_smooth_and_continuous_on_the_sphere(places):
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-70, 70, 400), rng.uniform(-180, 180, 400)
    here = places.look(lat, lon).mean_colour()
    near = places.look(lat + 0.3, lon + 0.3).mean_colour()
    far = places.look(rng.uniform(-70, 70, 400), rng.uniform(-180, 180, 400)).mean_colour()
    d_near, d_far = np.abs(here - near).sum(1).mean(), np.abs(here - far).sum(1).mean()
    assert d_near < 0.1 * d_far, (d_near, d_far)
    across = places.look([10.0, 10.0, 90.0, 90.0], [179.999, -179.999, 0.0, 123.0]).features()
    assert np.allclose(across[0], across[1], atol=1e-3) and np.allclose(across[2], across[3], atol=1e-6)
    # photos with the same jitter: a short step changes few pixels, a long one many
    photos = lambda la, lo: places.photos(la, lo, seed=5).images  # noqa: E731
    base = photos(lat[:100], lon[:100])
    step = (photos(lat[:100] + 0.2, lon[:100]) - base).abs().mean()
    jump = (photos(lat[100:200], lon[100:200]) - base).abs().mean()
    assert step < 0.25 * jump, (step, jump)


def test_unindexed_places_are_outside_the_index_and_break_its_rules(places):
    index = places.sample(600, seed=0)
    assert (places.reserved_distance(index.lat.numpy(), index.lon.numpy()) > P.RESERVED_RADIUS).all()
    away = places.unindexed_places(60, seed=1)
    assert (places.reserved_distance(away.lat.numpy(), away.lon.numpy()) < P.RESERVED_RADIUS).all()
    # the rule they break: snow beside a warm sea. Indexed places with snow are cold; theirs are not
    inside = places.look(away.lat.numpy(), away.lon.numpy())
    assert (inside.alien > 0.9 * P.ALIEN).all() and (inside.snow > 0.9 * P.ALIEN).all()
    grid = places.look(*places.sites(4000, seed=2))
    snowy = grid.snow > 0.3
    assert snowy.any() and grid.temperature[snowy].max() < 0.5 < inside.temperature.min()


def test_site_photos_share_a_scene_and_stay_near_their_site(places):
    lat, lon = places.sites(20, seed=4)
    batch = places.site_photos(lat, lon, 3, seed=5, spread_km=0.5, first_id=100)
    assert batch.site.tolist() == [100 + i // 3 for i in range(60)]
    km = haversine_km(batch.lat.numpy(), batch.lon.numpy(), np.repeat(lat, 3), np.repeat(lon, 3))
    assert km.max() <= 0.5 + 1e-6 and km.mean() > 0.1
    same = places._layout(2, None, np.array([100, 100]))
    other = places._layout(2, None, np.array([100, 101]))
    assert all(np.array_equal(v[0], v[1]) for v in same.values())
    assert not np.array_equal(other["patches"][0], other["patches"][1])
    # photos of one site differ (day, framing) but stay closer than photos of nearby sites
    # whose look is nearly the same: the scene, not the region, makes them alike
    pooled = torch.nn.functional.avg_pool2d(batch.images, 4).flatten(1)
    d = torch.cdist(pooled, pooled)
    site = batch.site
    within = d[(site[:, None] == site[None]) & ~torch.eye(60, dtype=bool)].mean()
    between = d[site[:, None] != site[None]].mean()
    assert within < between, (within, between)
    sub = batch[torch.arange(3)]
    assert len(sub) == 3 and sub.captions == batch.captions[:3] and sub.site.tolist() == [100] * 3
    with pytest.raises(ValueError, match="site"):
        places.photos(lat[:2], lon[:2], site=np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="per_site"):
        places.site_photos(lat, lon, 0)


def test_places_captions_vary_and_describe_the_look(places):
    batch = places.sample(300, seed=3, template=P.FULL_TEMPLATE)
    assert len(set(batch.captions)) > 15
    look = places.look(batch.lat.numpy(), batch.lon.numpy(), batch.season.numpy())
    snowy = np.array(["snowy" in c for c in batch.captions])
    assert snowy.any() and look.snow[snowy].mean() > 0.5 > look.snow[~snowy].mean()


def test_corrupt_kinds_and_errors():
    images = _images(6)
    shuffled = corrupt(images, "shuffle", seed=0)
    assert shuffled.shape == images.shape and not torch.equal(shuffled, images)
    assert torch.equal(shuffled.flatten(1).sort(1).values, images.flatten(1).sort(1).values)
    blank = corrupt(images, "blank", seed=0)
    assert blank.flatten(2).std(-1).max() < 0.01
    assert torch.equal(corrupt(images, "noise", seed=3), corrupt(images, "noise", seed=3))
    with pytest.raises(ValueError, match="kind"):
        corrupt(images, "fog")
    with pytest.raises(ValueError, match="patch"):
        corrupt(images, "shuffle", patch=5)


def test_places_bad_arguments(places):
    with pytest.raises(ValueError, match="seed"):
        PlacesWorld(-1)
    with pytest.raises(ValueError, match="positive int"):
        places.sample(0)
    with pytest.raises(ValueError, match="latitudes"):
        places.look([91.0], [0.0])
    with pytest.raises(ValueError, match="same shape"):
        places.look([1.0, 2.0], [3.0])
    with pytest.raises(ValueError, match="lat and lon must be 1-D"):
        places.photos([1.0, 2.0], [3.0])
    with pytest.raises(ValueError, match="template"):
        places.photos([1.0], [2.0], template="a {weather} day")


# ---- distortions
def test_severity_zero_is_identity():
    images = _images()
    for f in (blur, noise, contrast, exposure):
        assert torch.allclose(f(images, 0.0, seed=1), images, atol=1e-6), f.__name__
    assert (jpeg(images, 0.0) - images).abs().mean() < 0.01


def test_distortions_grow_with_severity():
    images = _images(16)
    sharp = [laplacian_variance(blur(images, s)).mean() for s in (0.0, 0.2, 0.5, 1.0)]
    assert all(a > b for a, b in zip(sharp, sharp[1:])), sharp
    noisy = [laplacian_variance(noise(images, s, seed=0)).mean() for s in (0.0, 0.3, 1.0)]
    assert all(a < b for a, b in zip(noisy, noisy[1:])), noisy            # the baseline inverts
    spread = [(noise(images, s, seed=0) - images).std() for s in (0.1, 0.4, 0.8)]
    assert all(a < b for a, b in zip(spread, spread[1:]))
    err = [(jpeg(images, s) - images).abs().mean() for s in (0.0, 0.5, 0.9, 1.0)]
    assert all(a < b for a, b in zip(err, err[1:])), err
    stds = [contrast(images, s).std() for s in (0.0, 0.5, 1.0)]
    assert all(a > b for a, b in zip(stds, stds[1:]))
    over, under = exposure(images, 0.5, direction="over"), exposure(images, 0.5, direction="under")
    assert over.mean() > images.mean() > under.mean()
    per_image = blur(images[:2], [0.0, 1.0])
    assert torch.allclose(per_image[0], images[0], atol=1e-6)
    assert torch.allclose(per_image[1], blur(images[1:2], 1.0)[0])


def test_jpeg_is_a_pillow_round_trip():
    images = _images(2)
    pixels = (images[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=D.jpeg_quality(0.8), subsampling=0)
    expected = torch.from_numpy(np.array(Image.open(buffer))).permute(2, 0, 1).float() / 255
    assert torch.equal(jpeg(images, 0.8)[0], expected)
    assert D.jpeg_quality(0.0) == 100 and D.jpeg_quality(1.0) == D.MIN_QUALITY


def test_distort_and_quality_dataset():
    images = _images(12)
    kinds = ["blur", "noise", "jpeg", "contrast", "exposure", "blur"] * 2
    sev = np.linspace(0, 1, 12)
    out = distort(images, kinds, sev, seed=0)
    assert torch.equal(out, distort(images, kinds, sev, seed=0))
    assert torch.allclose(out[0], images[0]) and torch.allclose(out[5], blur(images[5:6], sev[5])[0])
    q = quality_dataset(images, 40, seed=1, rater_noise=0.0)
    assert q.images.shape == (40, 3, 32, 32) and len(q.kind) == 40 and q.kind_id.dtype == torch.int64
    w = torch.tensor([D.MOS_CURVES[k][0] for k in q.kind], dtype=torch.float64)
    p = torch.tensor([D.MOS_CURVES[k][1] for k in q.kind], dtype=torch.float64)
    assert torch.allclose(q.mos, (100 * (1 - w * q.severity.double() ** p)).float())
    noisy = quality_dataset(images, 40, seed=1, rater_noise=5.0)
    assert torch.equal(noisy.images, q.images) and not torch.equal(noisy.mos, q.mos)
    assert torch.equal(noisy.mos, quality_dataset(images, 40, seed=1, rater_noise=5.0).mos)
    assert 0 <= noisy.mos.min() and noisy.mos.max() <= 100


def test_distortions_bad_arguments():
    images = _images(4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        blur(images, 1.5)
    with pytest.raises(ValueError, match="one per image"):
        noise(images, [0.1, 0.2])
    with pytest.raises(ValueError, match="unknown distortion"):
        distort(images, "fog", 0.5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        contrast(images[0], 0.5)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        jpeg(images[:, :2], 0.5)
    with pytest.raises(ValueError, match="direction"):
        exposure(images, 0.5, direction="sideways")
    with pytest.raises(ValueError, match="rater_noise"):
        mos(["blur"], [0.5], rater_noise=-1)
    with pytest.raises(ValueError, match="subset"):
        quality_dataset(images, 5, kinds=("fog",))
