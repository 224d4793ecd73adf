"""Generate (or resume) the DigitsBench-201 table. Run from the repository root:

    python -m genlab.nas.generate                     # seed 0, every unique cell (~80 CPU-min)
    python -m genlab.nas.generate --workers 2         # two processes, one thread each
    python -m genlab.nas.generate --seed 1 --subset 300   # the seed-noise table

Resumable: results are appended one line per cell as they finish, and a restart skips every
class (``space.canonical``) that already has a record, so the script can be stopped (Ctrl-C)
and restarted at any time. When the canonical form changes (it did once: see
``space.canonical``), a restart re-keys the table: a record stays valid for the class of the
cell it trained (all members compute the same function), a second record of one class is
dropped (the lower-index cell's is kept), and only the classes without a record are trained.
The first line records the schedule, seed and library/torch versions; resuming with a
different schedule or seed is refused. Each cell is trained on one thread, so a cell's
numbers do not depend on the worker that trained it. The subset for ``--subset K`` is a
fixed random sample (``random.Random(seed)``) of the unique cells.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

import torch

import genlab

from ..runtime import Budget, use_threads
from .benchmark import NOISE_TABLE, SCHEDULE, TABLE, read_table, train_cell
from .space import all_cells, canonical, ops_to_index, ops_to_str, to_ops

_DATA = None


def _work(arch_str: str, seed: int) -> dict:
    global _DATA
    use_threads(1)             # workers run side by side: one thread each, one per CPU
    if _DATA is None:
        from ..data.digits import load_digits
        _DATA = load_digits(flatten=False)
    return asdict(train_cell(arch_str, seed=seed, data=_DATA))


def unique_cells() -> list[str]:
    """The representative (lowest index) of every isomorphism class, as arch strings."""
    seen: dict[str, str] = {}
    for ops in all_cells():
        seen.setdefault(canonical(ops), ops_to_str(ops))
    return list(seen.values())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=None, help="train only this many random unique cells")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="default: the shipped table for this seed")
    p.add_argument("--limit", type=int, default=None, help="stop after this many new cells")
    args = p.parse_args(argv)

    out = args.out or (TABLE if args.seed == 0 else NOISE_TABLE if args.seed == 1 else None)
    if out is None:
        p.error("--out is required for seeds other than 0 and 1")
    header = {"benchmark": "DigitsBench-201", "seed": args.seed, "schedule": SCHEDULE,
              "subset": args.subset, "genlab": genlab.__version__, "torch": torch.__version__}
    cells = unique_cells()
    if args.subset is not None:
        cells = sorted(random.Random(args.seed).sample(cells, args.subset))
    done = set()
    if out.exists():
        old, records = read_table(out)
        if {k: old.get(k) for k in ("seed", "schedule", "subset")} != \
                {k: header[k] for k in ("seed", "schedule", "subset")}:
            sys.exit(f"{out} was made with another seed/schedule/subset; move it away to start over")
        kept: dict[str, object] = {}
        for r in sorted(records, key=lambda r: ops_to_index(to_ops(r.arch_str))):
            kept.setdefault(canonical(r.arch_str), r)
        if len(kept) < len(records):          # the canonical form changed: one record per class
            print(f"re-keying {out.name}: {len(records) - len(kept)} records dropped "
                  "(their class already has a record of a lower-index cell)")
            tmp = out.with_suffix(".rekey")
            tmp.write_text("".join(json.dumps(x) + "\n" for x in [old] + [asdict(r) for r in kept.values()]))
            tmp.replace(out)
        done = set(kept)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(header) + "\n")
    todo = [c for c in cells if canonical(c) not in done]
    random.Random(args.seed).shuffle(todo)   # a partial table is a random sample; ETA is honest
    todo = todo[: args.limit]
    print(f"{len(cells)} cells, {len(done)} done, training {len(todo)} with {args.workers} worker(s)")
    clock = Budget(None)       # a stopwatch for the progress line
    with get_context("spawn").Pool(args.workers) as pool, open(out, "a") as f:
        jobs = pool.imap_unordered(_star, [(c, args.seed) for c in todo])
        for k, rec in enumerate(jobs, 1):
            f.write(json.dumps(rec) + "\n")
            f.flush()
            if k % 100 == 0 or k == len(todo):
                rate = clock.elapsed / k
                print(f"{k}/{len(todo)}  {rate:.2f} s/cell  eta {rate * (len(todo) - k) / 60:.1f} min", flush=True)


def _star(a):
    return _work(*a)


if __name__ == "__main__":
    main()
