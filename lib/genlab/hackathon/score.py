"""The hidden scorer: run after every team's kernel is gone, in its own process.

``python -m genlab.hackathon.score ROOT GRADING DB_URL`` reads ``<grading>/runs.json`` (from
``autograde``), each team's exported artifacts, and data no team could see:

- **Track A (generator).** A judge with ``genlab.metrics.judge``'s architecture and schedule,
  trained on the digits' train + val splits with a **secret seed drawn at the first scoring**
  (``secrets``; recorded in ``<grading>/secret.json``, reused when a late team is scored, so
  every team meets the same judge and the run can be audited). Scores: the
  Fréchet distance (FD) of the judge's features of the team's 1,000 samples to those of the 360
  test digits, and the share of samples the judge recognises as the class that was requested.
  Points: ``50·accuracy + 50·max(0, 1 − FD / FD_baseline)``, where the baseline is the class-mean
  digit plus pixel noise (no training at all) scored by the same judge.
- **Track B (search).** For each hidden seed's picked cell, the test regret in DigitsBench-201
  (the table's best test accuracy minus the cell's); its mean over the seeds. Points:
  ``100·max(0, 1 − regret / regret_random)``, where ``regret_random`` is random search's mean regret
  with the same number of queries over ``RANDOM_RUNS`` seeds.

A team that was stopped, crashed on a track or tripped the guard scores zero on it. The scores
go into the gradebook (``gradebook.record``) and ``<grading>/scores.json``.
"""
from __future__ import annotations

import json
import secrets
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import team
from .autograde import STATUSES, TRACKS, TeamRun, read_runs
from .gradebook import TrackScore, record

RANDOM_RUNS = 200                     # random-search runs behind the track-B reference regret
BASELINE_NOISE = 0.2                  # pixel noise of the class-mean baseline (as in the notebook)


def train_judge(seed: int):
    """genlab.metrics.judge's Judge and schedule, on train + val, seeded with ``seed``."""
    from genlab.data import load_digits
    from genlab.metrics import judge as j

    d = load_digits()
    X, y = torch.cat([d.X_train, d.X_val]), torch.cat([d.y_train, d.y_val])
    torch.manual_seed(seed)
    model = j.Judge()
    opt = torch.optim.Adam(model.parameters(), lr=j.LR)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(j.EPOCHS):
        for idx in torch.randperm(len(X), generator=gen).split(64):
            noisy = (X[idx] + 0.05 * torch.randn(X[idx].shape, generator=gen)).clamp(0, 1)
            loss = torch.nn.functional.cross_entropy(model(noisy), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval(), d


@torch.no_grad()
def judge_scores(judge, real: torch.Tensor, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from genlab.metrics.judge import frechet_distance

    x = torch.as_tensor(images)
    accuracy = float((judge(x).argmax(-1) == torch.as_tensor(labels)).float().mean())
    return {"fd": frechet_distance(judge.features(x), judge.features(real)), "class_accuracy": accuracy}


def baseline_fd(judge, digits, seed: int) -> float:
    """FD of the class-mean + noise baseline: 100 per class from the train split's means."""
    gen = torch.Generator().manual_seed(seed)
    means = torch.stack([digits.X_train[digits.y_train == k].mean(0) for k in range(10)])
    labels = torch.arange(10).repeat_interleave(100)
    images = (means[labels] + BASELINE_NOISE * torch.randn(len(labels), 64, generator=gen)).clamp(0, 1)
    return judge_scores(judge, digits.X_test, images.numpy(), labels.numpy())["fd"]


def random_regret(bench, num_queries: int, runs: int = RANDOM_RUNS) -> float:
    from genlab.nas.search import RandomSearch, run_search

    return float(np.mean([bench.best_test - run_search(RandomSearch(seed=s), bench, num_queries).best_test[-1]
                          for s in range(runs)]))


def failed(run: TeamRun, track: str) -> TrackScore | None:
    """Zero points for a track whose artifact is missing: the team's status (time limit, guard, ...)
    or "crashed" with the error of the track's export cell; None when the artifact is there."""
    state = run.tracks[track]
    if state == "ok":
        return None
    if state in STATUSES:
        return TrackScore(state, 0.0, reason=run.reason)
    return TrackScore("crashed", 0.0, reason=state)


def score_generator(run: TeamRun, judge, digits, fd_base: float) -> TrackScore:
    if (zero := failed(run, "generator")) is not None:
        return zero
    data = np.load(Path(run.export_dir) / team.SAMPLES_FILE)
    try:
        images, labels = team.check_samples(data["images"], data["labels"])
        if len(images) != 1000 or sorted(np.bincount(labels, minlength=10)) != [100] * 10:
            raise ValueError(f"need 100 samples of each class, got {np.bincount(labels, minlength=10).tolist()}")
    except ValueError as err:
        return TrackScore("crashed", 0.0, reason=f"bad samples: {err}")
    m = judge_scores(judge, digits.X_test, images, labels)
    points = 50 * m["class_accuracy"] + 50 * max(0.0, 1 - m["fd"] / fd_base)
    return TrackScore("ok", round(points, 2), m)


def score_search(run: TeamRun, bench, regret_random: float) -> TrackScore:
    if (zero := failed(run, "search")) is not None:
        return zero
    picks = json.loads((Path(run.export_dir) / team.SEARCH_FILE).read_text())
    regrets = [bench.best_test - float(bench.test_acc[int(i)]) for i in picks.values()]
    regret = float(np.mean(regrets))
    points = 100 * max(0.0, 1 - regret / regret_random)
    return TrackScore("ok", round(points, 2), {"regret": regret, "regret_spread": float(np.std(regrets))})


def score_all(grading: Path, db_url: str, seed: int | None = None) -> dict[str, dict[str, TrackScore]]:
    """Score every team in ``<grading>/runs.json``; write the gradebook and ``scores.json``."""
    from genlab.nas.benchmark import load_benchmark

    secret = grading / "secret.json"
    if seed is None:     # drawn at the first scoring, reused for late teams: one judge for everyone
        seed = json.loads(secret.read_text())["judge_seed"] if secret.exists() else secrets.randbelow(2**31)
    judge, digits = train_judge(seed)
    bench = load_benchmark()
    fd_base, regret_random = baseline_fd(judge, digits, seed), random_regret(bench, team.NUM_QUERIES)
    secret.write_text(json.dumps(
        {"judge_seed": seed, "baseline_fd": fd_base, "random_regret": regret_random}, indent=1))
    out = {}
    for run in read_runs(grading):
        scores = {"generator": score_generator(run, judge, digits, fd_base),
                  "search": score_search(run, bench, regret_random)}
        record(db_url, run.team, scores)
        out[run.team] = scores
    (grading / "scores.json").write_text(json.dumps(
        {t: {k: asdict(v) for k, v in s.items()} for t, s in out.items()}, indent=1))
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print("usage: python -m genlab.hackathon.score GRADING DB_URL [JUDGE_SEED]", file=sys.stderr)
        return 2
    from genlab.runtime import use_threads

    use_threads()    # genlab's thread policy: torch's default pool crawls on a busy machine
    scores = score_all(Path(argv[0]), argv[1], int(argv[2]) if len(argv) == 3 else None)
    for name, s in scores.items():
        print(f"{name}: " + ", ".join(f"{t} {v.status} {v.points:.1f}" for t, v in s.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["TRACKS", "score_all", "main"]
