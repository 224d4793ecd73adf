"""The CLIP that 11_clip_applications searches with: trained once by this recipe, shipped with genlab.

Introduced in 11_clip_applications, which loads it (``load_places_clip``) and never trains it.
It is 10_clip's tiny CLIP (conv stem, d = 64, 3 image blocks, 1 text block) trained on the places
world (``genlab.data.places``, globe seed ``WORLD_SEED``) with three contrastive terms per step:

1. *scene captions* — CLIP's symmetric loss (``contrastive_loss``) on clean photos and what they
   show ("a snowy harbour town under a grey sky");
2. *quality captions* — the same loss on distorted photos (``genlab.data.distortions``, kinds
   ``IQA_KINDS``, severity uniform in [0, 1]). With ``quality_captions=True`` their captions say
   how good the photo is, LIQE-style (Zhang et al. 2023): "a poor quality blurry photo of a
   snowy harbour town"; with ``False`` they are the plain scene captions, so the encoder is
   taught to look *through* the distortions — the ablation 11 measures;
3. *same site* — two photos of one site (another day, another framing, maybe mirrored) must find
   each other among the batch's sites: the image–image InfoNCE that SLIP (Mu et al. 2022) adds
   to CLIP, with photos of one place as the positive pair, as place-recognition models are
   trained (NetVLAD, Arandjelović et al. 2016). Without it, nothing in the captions tells two
   green forests 300 km apart from each other, and search could not find a site.

``python -m genlab.vision.places_clip`` runs the recipe on one thread (the same sums, so the same
weights, on every run of a machine) and writes both checkpoints to ``WEIGHTS``;
``tests/test_places_clip.py`` retrains them and checks the shipped files are what it makes.
Training sites have ids from ``TRAIN_SITE_BASE`` on, so no notebook gallery (ids from 0) shows
a scene the encoder was trained on.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..data.distortions import distort, mos
from ..data.places import FULL_TEMPLATE, PlacesWorld
from ..data.words import WordTokenizer, fix_articles
from ..train import set_lr, warmup_cosine
from .clip import CLIP, build_clip, contrastive_loss

VERSION = 1
WORLD_SEED = 0                    # the globe every 11 run searches
IQA_KINDS = ("blur", "noise", "jpeg", "contrast")
QUALITY_LEVELS = ("bad", "poor", "fair", "good", "perfect")      # LIQE's five levels, by MOS/20
KIND_WORDS = {"blur": "blurry", "noise": "noisy", "jpeg": "compressed", "contrast": "faded"}
QUALITY_TEMPLATE = "a {level} quality {kind} photo of {scene}"
CONTEXT_LENGTH = 20
TRAIN_SITE_BASE = 1_000_000_000
SITE_TEMPERATURE = 0.1            # the image–image loss's fixed τ (SimCLR's, as in SLIP)
TRAINING = dict(steps=1000, sites=96, distorted=96, lr=2e-3, warmup=0.05, weight_decay=0.1, seed=0)
WEIGHTS = {True: Path(__file__).parent / "data" / f"places-clip-v{VERSION}.pt",
           False: Path(__file__).parent / "data" / f"places-clip-plain-v{VERSION}.pt"}


def tokenizer() -> WordTokenizer:
    """The places world's words and the quality captions' words, in one vocabulary."""
    quality = ["quality", "photo", "of", *QUALITY_LEVELS, *KIND_WORDS.values()]
    return WordTokenizer(PlacesWorld(WORLD_SEED).tokenizer.words + quality)


def quality_level(score: torch.Tensor) -> list[str]:
    """The level word of each MOS in [0, 100]: bad < 20 ≤ poor < 40 ≤ fair < 60 ≤ good < 80 ≤ perfect."""
    return [QUALITY_LEVELS[min(int(s) // 20, 4)] for s in score.tolist()]


def quality_captions(scenes: list[str], kinds: list[str], severity: torch.Tensor) -> list[str]:
    """LIQE-style captions: "a {level} quality {kind} photo of {scene}", the level from the stated MOS."""
    levels = quality_level(mos(kinds, severity))
    return [fix_articles(QUALITY_TEMPLATE.format(level=lv, kind=KIND_WORDS[k], scene=s))
            for lv, k, s in zip(levels, kinds, scenes)]


def build_places_clip_model(vocab_size: int) -> CLIP:
    return build_clip("tiny", vocab_size=vocab_size, context_length=CONTEXT_LENGTH)


def _param_groups(model: CLIP, weight_decay: float) -> list[dict]:
    """open_clip's rule (as in 10_clip): decay weight matrices only."""
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    others = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": matrices, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]


def site_loss(view_a: torch.Tensor, view_b: torch.Tensor, temperature: float = SITE_TEMPERATURE) -> torch.Tensor:
    """Symmetric InfoNCE between two photos of each site: row i of ``view_a`` must pick row i of
    ``view_b`` among the batch's sites, and the other way round."""
    a, b = F.normalize(view_a, dim=-1), F.normalize(view_b, dim=-1)
    logits = a @ b.t() / temperature
    target = torch.arange(len(a))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def _batch(world: PlacesWorld, tok: WordTokenizer, rng: np.random.Generator, step: int, sites: int,
           distorted: int, quality: bool) -> tuple[torch.Tensor, ...]:
    lat, lon = world.sites(sites + distorted, rng)
    pair = world.site_photos(lat[:sites], lon[:sites], 2, rng, first_id=TRAIN_SITE_BASE + step * sites,
                             template=None)
    other = world.photos(lat[sites:], lon[sites:], rng, template=FULL_TEMPLATE)
    kinds = [IQA_KINDS[k] for k in rng.integers(len(IQA_KINDS), size=distorted)]
    severity = torch.from_numpy(rng.random(distorted).astype(np.float32))
    bad = distort(other.images, kinds, severity, seed=int(rng.integers(2 ** 31)))
    scenes = other.captions
    text_bad = quality_captions(scenes, kinds, severity) if quality else scenes
    return (pair.images, tok.encode(pair.captions, CONTEXT_LENGTH), bad,
            tok.encode(text_bad, CONTEXT_LENGTH))


def train_places_clip(quality_captions: bool = True, steps: int = TRAINING["steps"], sites: int = TRAINING["sites"],
                      distorted: int = TRAINING["distorted"], lr: float = TRAINING["lr"],
                      warmup: float = TRAINING["warmup"], weight_decay: float = TRAINING["weight_decay"],
                      seed: int = TRAINING["seed"], log_every: int = 0) -> CLIP:
    """The recipe (module docstring): AdamW (β₂ = 0.98, decay on matrices), ``lr`` with warmup +
    cosine, ``steps`` steps of ``sites`` site pairs and ``distorted`` distorted photos."""
    torch.manual_seed(seed)
    tok = tokenizer()
    world = PlacesWorld(WORLD_SEED, context_length=CONTEXT_LENGTH)
    model = build_places_clip_model(tok.vocab_size)
    opt = torch.optim.AdamW(_param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.98), eps=1e-6)
    rng = np.random.default_rng([seed, 11])
    start = time.perf_counter()
    model.train()
    for step in range(steps):
        set_lr(opt, lr * warmup_cosine(step / steps, warmup))
        images, texts, bad, bad_texts = _batch(world, tok, rng, step, sites, distorted, quality_captions)
        img = model.encode_image(torch.cat([images, bad]))
        txt = model.encode_text(torch.cat([texts, bad_texts]))
        n = len(images)
        loss_scene = contrastive_loss(img[:n], txt[:n], model.scale())
        loss_quality = contrastive_loss(img[n:], txt[n:], model.scale())
        loss_site = site_loss(img[:n:2], img[1:n:2])
        loss = loss_scene + loss_quality + loss_site
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if log_every and (step % log_every == 0 or step == steps - 1):
            print(f"step {step:5d}  scene {loss_scene.item():.3f}  quality {loss_quality.item():.3f}  "
                  f"site {loss_site.item():.3f}  1/τ {model.scale().item():.1f}  {time.perf_counter() - start:.0f} s",
                  flush=True)
    return model.eval()


@torch.no_grad()
def embed_images(model: CLIP, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """(N, D) unit-length image embeddings, ``batch_size`` images at a time (memory stays flat)."""
    model.eval()
    return torch.cat([F.normalize(model.encode_image(images[i:i + batch_size].float()), dim=-1)
                      for i in range(0, len(images), batch_size)])


@torch.no_grad()
def embed_texts(model: CLIP, captions: list[str]) -> torch.Tensor:
    """(N, D) unit-length text embeddings of captions in ``tokenizer()``'s words."""
    model.eval()
    return F.normalize(model.encode_text(tokenizer().encode(captions, CONTEXT_LENGTH)), dim=-1)


def quick_scores(model: CLIP, seed: int = 0) -> dict[str, float]:
    """Two numbers that say what the encoder learnt, in a few seconds: ``site_recall`` — how often a
    photo's nearest neighbour among 1,000 sites × 4 photos shows its own site — and ``quality_srcc``
    — Spearman's correlation of a ridge regression on 1,200 distorted photos' embeddings with their
    stated MOS, on 800 more."""
    from scipy.stats import spearmanr
    from sklearn.linear_model import Ridge

    from ..data.distortions import quality_dataset

    world = PlacesWorld(WORLD_SEED, context_length=CONTEXT_LENGTH)
    rng = np.random.default_rng([seed, 12])
    lat, lon = world.sites(1000, rng)
    gallery = world.site_photos(lat, lon, 4, rng)
    queries = world.site_photos(lat, lon, 1, rng)
    nearest = (embed_images(model, queries.images) @ embed_images(model, gallery.images).t()).argmax(1)
    site_recall = (gallery.site[nearest] == queries.site).double().mean().item()
    data = quality_dataset(world.photos(*world.sites(2000, rng), rng).images, 2000, seed=seed, kinds=IQA_KINDS)
    x, y = embed_images(model, data.images).numpy(), data.mos.numpy()
    pred = Ridge(alpha=1e-2).fit(x[:1200], y[:1200]).predict(x[1200:])
    return {"site_recall": site_recall, "quality_srcc": float(spearmanr(pred, y[1200:])[0])}


def load_places_clip(quality_captions: bool = True) -> CLIP:
    """11's encoder from ``WEIGHTS`` (shipped with genlab, made by ``train_places_clip``); its
    tokenizer is ``tokenizer()``. ``quality_captions=False``: the ablation without LIQE captions."""
    model = build_places_clip_model(tokenizer().vocab_size)
    model.load_state_dict(torch.load(WEIGHTS[quality_captions], weights_only=True))
    return model.eval()


__all__ = ["VERSION", "WORLD_SEED", "IQA_KINDS", "QUALITY_LEVELS", "KIND_WORDS", "QUALITY_TEMPLATE", "CONTEXT_LENGTH",
           "TRAIN_SITE_BASE", "TRAINING", "WEIGHTS", "tokenizer", "quality_level", "quality_captions",
           "site_loss", "train_places_clip", "load_places_clip", "embed_images", "embed_texts", "quick_scores"]


if __name__ == "__main__":   # regenerate the shipped encoders (after changing the recipe)
    from ..runtime import use_threads

    use_threads(1)
    WEIGHTS[True].parent.mkdir(exist_ok=True)
    for quality in (True, False):
        torch.save(train_places_clip(quality, log_every=100).state_dict(), WEIGHTS[quality])
        print(f"wrote {WEIGHTS[quality]}")
