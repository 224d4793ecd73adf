"""X3D's progressive expansion, at the scale of a laptop: precomputed once, shipped as a table. Introduced in 12_x3d.

The paper (Feichtenhofer 2020, Sec. 3.2) grows a tiny image network one axis at a time: at each
step every axis is expanded on its own, each candidate is trained and evaluated, and the
candidate with the best trade-off is kept. Here the base is an X2D — one frame, so it cannot
see motion at all — on the action clips of ``genlab.data.actions``, and the six candidates are
the paper's six operations:

    X-Temporal  twice the frames at the same stride (γt ×2: a clip twice as long)
    X-Fast      twice the frames at half the stride (γτ ÷2: the same clip, twice the frame rate)
    X-Spatial   the next crop size (γs: 24 → 32 → 48 pixels)
    X-Width     γw ×2          X-Bottleneck  γb ×2          X-Depth  γd ×2

Each candidate is trained ``RECIPE["steps"]`` steps from scratch, on each of ``SEEDS``, and the
step keeps the candidate with the largest accuracy gain per added multiply-add over the current
network (the paper's criterion, with its complexity measured as multiply-adds of one clip).

``python -m genlab.vision.x3d_expansion`` recomputes the table (about 20 minutes on one CPU
thread) into ``lib/genlab/vision/data/x3d-expansion-v1.json``; it saves after every trained
candidate and resumes where it stopped, so it can be interrupted. ``load_table()`` reads the
shipped file; ``train_candidate`` trains one candidate as the table did (12_x3d recomputes one
live and checks it against the table).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data.actions import ACTIONS, action_clips
from ..runtime import use_threads
from ..train import accuracy, fit, warmup_cosine
from .x3d import X3DFactors, build_x3d, count_macs

TABLE = "x3d-expansion-v1.json"
BASE = X3DFactors(frames=1, stride=16, resolution=24, width=0.5, bottleneck=1.0, depth=0.4)
RESOLUTIONS = (24, 32, 48, 64)          # X-Spatial's ladder: about twice the pixels per rung
AXES = ("X-Temporal", "X-Fast", "X-Spatial", "X-Width", "X-Bottleneck", "X-Depth")
STEPS = 4                                # expansion steps in the shipped table
SEEDS = (0, 1)
# One recipe for every candidate: the notebook's, shortened. Data seeds differ from the notebook's
# main run (100 + seed, 200 + seed) so the table never saw its test clips.
RECIPE = {"train_clips": 2000, "test_clips": 1000, "steps": 250, "batch_size": 32, "lr": 2e-2,
          "weight_decay": 0.05, "warmup": 0.05}


def expand_axis(factors: X3DFactors, axis: str) -> X3DFactors | None:
    """``factors`` expanded along one of ``AXES``; None where the axis cannot grow (a stride of 1,
    the last crop size)."""
    if axis == "X-Temporal":
        return dataclasses.replace(factors, frames=factors.frames * 2)
    if axis == "X-Fast":
        if factors.stride < 2:
            return None
        return dataclasses.replace(factors, frames=factors.frames * 2, stride=factors.stride // 2)
    if axis == "X-Spatial":
        bigger = [r for r in RESOLUTIONS if r > factors.resolution]
        return dataclasses.replace(factors, resolution=bigger[0]) if bigger else None
    if axis == "X-Width":
        return dataclasses.replace(factors, width=factors.width * 2)
    if axis == "X-Bottleneck":
        return dataclasses.replace(factors, bottleneck=factors.bottleneck * 2)
    if axis == "X-Depth":
        return dataclasses.replace(factors, depth=factors.depth * 2)
    raise ValueError(f"unknown axis {axis!r}; choose one of {AXES}")


def macs(factors: X3DFactors) -> int:
    """Multiply-adds of one clip through the X3D ``factors`` describes (8 classes)."""
    model = build_x3d(factors, num_classes=len(ACTIONS), dropout=0.0)
    return count_macs(model, (1, *factors.input_shape))


def train_candidate(factors: X3DFactors, seed: int, recipe: dict | None = None, **build) -> dict:
    """Train the X3D ``factors`` describes as every table entry was (``RECIPE``, on clips drawn
    from ``seed``) and return its test ``accuracy``, ``macs``, ``params`` and ``seconds``.
    ``build`` goes to ``build_x3d`` (12_x3d passes the learner's block)."""
    r = dict(RECIPE, **(recipe or {}))
    clip = dict(frames=factors.frames, stride=factors.stride, size=factors.resolution)
    train = action_clips(r["train_clips"], seed=1000 + seed, **clip)
    test = action_clips(r["test_clips"], seed=2000 + seed, **clip)
    torch.manual_seed(seed)
    model = build_x3d(factors, num_classes=len(ACTIONS), dropout=0.0, **build)
    steps_per_epoch = -(-r["train_clips"] // r["batch_size"])
    epochs = max(1, round(r["steps"] / steps_per_epoch))
    optimizer = torch.optim.AdamW(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
    start = time.perf_counter()
    fit(model, lambda m, b: F.cross_entropy(m(b[0]), b[1]), (train.clips, train.labels), num_epochs=epochs,
        batch_size=r["batch_size"], lr=r["lr"], optimizer=optimizer, seed=seed, progress=False,
        lr_schedule=lambda p: warmup_cosine(p, r["warmup"]))
    seconds = time.perf_counter() - start
    return {"accuracy": accuracy(model, test.clips, test.labels, 250), "macs": count_macs(model, (1, *factors.input_shape)),
            "params": sum(p.numel() for p in model.parameters()), "seconds": round(seconds, 2)}


def _key(factors: X3DFactors) -> str:
    return json.dumps(dataclasses.asdict(factors), sort_keys=True)


def choose(current: dict, candidates: dict[str, dict]) -> str:
    """The axis whose candidate gains the most accuracy per added multiply-add over ``current``
    (each a dict with mean ``accuracy`` and ``macs``)."""
    def gain(axis: str) -> float:
        c = candidates[axis]
        return (c["accuracy"] - current["accuracy"]) / max(c["macs"] - current["macs"], 1)
    return max(candidates, key=gain)


def run(path: Path, steps: int = STEPS, seeds: tuple[int, ...] = SEEDS, log=print) -> dict:
    """Compute (or resume) the expansion path into ``path`` (JSON): every trained candidate under
    ``"trained"`` (keyed by its factors, one entry per seed), the path under ``"path"``."""
    path = Path(path)
    table = json.loads(path.read_text()) if path.exists() else {}
    if table.get("recipe", RECIPE) != RECIPE or table.get("base", dataclasses.asdict(BASE)) != dataclasses.asdict(BASE):
        raise ValueError(f"{path} was made with another recipe or base; delete it to start again")
    table.update(recipe=RECIPE, base=dataclasses.asdict(BASE), seeds=list(seeds), axes=list(AXES))
    trained = table.setdefault("trained", {})

    def result(factors: X3DFactors) -> dict:
        runs = trained.setdefault(_key(factors), {})
        for seed in seeds:
            if str(seed) not in runs:
                runs[str(seed)] = train_candidate(factors, seed)
                path.write_text(json.dumps(table, indent=1))       # resumable: saved after each run
                log(f"  {factors} seed {seed}: {runs[str(seed)]}")
        accs = [runs[str(s)]["accuracy"] for s in seeds]
        return {"factors": dataclasses.asdict(factors), "accuracy": sum(accs) / len(accs), "accuracies": accs,
                "macs": runs[str(seeds[0])]["macs"], "params": runs[str(seeds[0])]["params"]}

    current_factors = BASE
    current = result(BASE)
    table["path"] = [{"step": 0, "axis": "base", **current, "candidates": {}}]
    for step in range(1, steps + 1):
        log(f"step {step}: from {current_factors}")
        candidates = {}
        for axis in AXES:
            grown = expand_axis(current_factors, axis)
            if grown is not None:
                candidates[axis] = result(grown)
        best = choose(current, candidates)
        current_factors, current = X3DFactors(**candidates[best]["factors"]), candidates[best]
        table["path"].append({"step": step, "axis": best, **current, "candidates": candidates})
        path.write_text(json.dumps(table, indent=1))
        log(f"step {step}: {best} → accuracy {current['accuracy']:.3f} at {current['macs'] / 1e6:.2f} M MACs")
    return table


def load_table() -> dict:
    """The shipped expansion table (see the module docstring)."""
    return json.loads(resources.files("genlab.vision").joinpath("data", TABLE).read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(str(resources.files("genlab.vision").joinpath("data", TABLE))),
                        help="the table to write (and resume from)")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    use_threads(1)     # one thread: the table's timings and results are the single-core ones
    run(args.out, args.steps)


if __name__ == "__main__":
    main()


__all__ = ["BASE", "AXES", "RESOLUTIONS", "RECIPE", "SEEDS", "STEPS", "expand_axis", "macs", "train_candidate",
           "choose", "run", "load_table"]
