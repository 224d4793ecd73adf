"""``python -m genlab.hackathon grade|leaderboard`` (the lead wires them into ``python -m genlab.course``).

``grade``: autograde every team in ``submitted/`` under the hard limits (``autograde``), then run
the hidden scorer in a separate process once every kernel is gone (``score``), then write the
leaderboard (``leaderboard``). ``leaderboard``: rewrite the leaderboard from the gradebook.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from . import leaderboard
from .autograde import ASSIGNMENT, grade_all
from .team import FULL_BUDGET


def grade(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m genlab.course hackathon",
                                description="Grade the hackathon's teams, score them, write the leaderboard.")
    p.add_argument("--root", type=Path, default=Path("."), help="the nbgrader course root (holds submitted/)")
    p.add_argument("--db", help="gradebook URL (default: sqlite:///ROOT/gradebook.db)")
    p.add_argument("--teams", nargs="*", help="grade only these teams (default: everyone in submitted/)")
    p.add_argument("--wall", type=float, default=300, help="hard wall-time limit per team, seconds (300)")
    p.add_argument("--memory", type=float, default=1536, help="hard memory limit per team, MB (1536)")
    p.add_argument("--budget", type=float, default=FULL_BUDGET, help=f"generator CPU budget, seconds ({FULL_BUDGET:g})")
    p.add_argument("--refresh", type=int, default=None, help="leaderboard page reloads every SECONDS")
    args = p.parse_args(argv)
    root = args.root.resolve()
    db = args.db or f"sqlite:///{root / 'gradebook.db'}"
    grading = root / "hackathon"
    grade_all(root, grading, db_url=db, wall_s=args.wall, memory_mb=args.memory, budget_s=args.budget,
              names=args.teams or None, assignment=ASSIGNMENT)
    scored = subprocess.run([sys.executable, "-m", "genlab.hackathon.score", str(grading), db])
    if scored.returncode != 0:
        return scored.returncode
    return leaderboard.main(["--db", db, "--out", str(grading)] +
                            (["--refresh", str(args.refresh)] if args.refresh else []))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("grade", "leaderboard"):
        print("usage: python -m genlab.hackathon grade|leaderboard [options] (--help for each)", file=sys.stderr)
        return 2
    return grade(argv[1:]) if argv[0] == "grade" else leaderboard.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
