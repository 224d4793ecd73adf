"""``python -m genlab.course build|execute|check|grade|readme|recipes|stress|site|...`` — see the README's
instructor guide and docs/facilitator.md."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path

from . import assignments, repo_root

REPORT = Path("reports")


def _build(root: Path, args: argparse.Namespace) -> int:
    from .build import build
    for name in build(root):
        print(f"built course/{name}")
    return 0


def _execute(root: Path, args: argparse.Namespace) -> int:
    from ..runtime import usable_cpus
    from .conditions import condition
    from .execute import execute_notebook, format_table, update_report
    mode = "smoke" if args.smoke else "full"
    folder = f"executed-{mode}" + ("" if args.condition == "quiet" else f"-{args.condition}")
    records = []
    with condition(args.condition, usable_cpus()) as cgroup:
        for a in assignments(root):
            if args.only and not any(a.name.startswith(o) for o in args.only):
                continue
            for nb in a.notebooks:
                out = root / REPORT / folder / a.name / nb.name
                print(f"executing {nb.relative_to(root)} ({mode}, {args.condition}) ...", flush=True)
                record = execute_notebook(nb, out, smoke=args.smoke, root=root,
                                          condition=args.condition, cgroup=cgroup)
                records.append(record)
                print(f"  {record.seconds:.1f} s, {record.peak_rss_mb:.0f} MB, "
                      f"{'ok' if record.ok else 'FAILED: ' + str(record.error)}", flush=True)
    update_report(root / REPORT / "execution.json", records)
    print(format_table(records))
    return 0 if all(r.ok for r in records) else 1


def _check(root: Path, args: argparse.Namespace) -> int:
    from .check import check_all
    problems = check_all(root)
    for p in problems:
        print(f"- {p}")
    print(f"{len(problems)} problem(s)" if problems else "course/ is in sync, clean and leak-free")
    return 1 if problems else 0


def _grade(root: Path, args: argparse.Namespace) -> int:
    """Dry-run the grading cycle: the model answers must score full marks, blanks zero."""
    from .grade import GradingRun
    failed = 0
    for a in assignments(root):
        if args.only and not any(a.name.startswith(o) for o in args.only):
            continue
        with tempfile.TemporaryDirectory(prefix="genlab-grade-") as tmp:
            run = GradingRun(a, Path(tmp))
            run.submit("model", run.answered())
            run.submit("blank", run.released())
            run.autograde()
            for student in ("model", "blank"):
                scores = [s for s in run.scores(student) if s.score is not None]
                got, out_of = sum(s.score for s in scores), sum(s.max_score for s in scores)
                want = out_of if student == "model" else 0
                ok = got == want
                failed += not ok
                print(f"{a.name:<24} {student:<6} {got:g}/{out_of:g} auto-graded points "
                      f"{'ok' if ok else 'WRONG (expected ' + format(want, 'g') + ')'}")
            seconds, errors = run.run_record("model")   # the model's autograde is the SMOKE run
            failed += bool(errors)
            print(f"{a.name:<24} model  ran in {seconds:.0f} s (SMOKE), "
                  + (f"cells that raised: {errors}" if errors else "no cell raised"))
    return 1 if failed else 0


def _stress(root: Path, args: argparse.Namespace) -> int:
    from ..runtime import usable_cpus
    from .stress import stress, summary
    hogs = usable_cpus() if args.hogs is None else args.hogs
    print(f"stress: {args.rounds} rounds, {hogs} CPU hogs, {args.jobs} notebooks at a time, "
          f"{args.students} submissions per autograde batch; hang = no CPU progress for 120 s, "
          f"time guard {args.kill_after:.0f} s", flush=True)
    runs = stress(root, rounds=args.rounds, hogs=hogs, jobs=args.jobs, students=args.students,
                  kill_after=args.kill_after, only=args.only, report=root / REPORT / "stress.json")
    result = summary(runs)
    print(json.dumps(result))
    return 1 if result["hangs"] or result["failures"] else 0


def _readme(root: Path, args: argparse.Namespace) -> int:
    from .readme import update_readme
    print(update_readme(root, root / REPORT / "execution.json"))
    return 0


def _recipes(root: Path, args: argparse.Namespace) -> int:
    from .recipes import RECIPES, RECORD, changed, record
    if args.record:
        record()
        print(f"recorded {', '.join(RECIPES)} in {RECORD}")
        return 0
    for name in RECIPES:
        diff = changed(name)
        print(f"{name}: " + (f"changed ({', '.join(diff)}): run `make test-recipes`, then record" if diff
                             else "unchanged since its recipe test last passed"))
    return 0


# Sub-commands with a module of their own, which parses the rest of the command line.
DELEGATED = {
    "site": ("genlab.course.site", "main", "build the course site (build/site) from course/ and the full-mode run"),
    "hackathon": ("genlab.hackathon.__main__", "grade", "grade 13_hackathon's teams under hard time and memory "
                  "limits, score them in a separate process, write the leaderboard"),
    "leaderboard": ("genlab.hackathon.leaderboard", "main", "rewrite the hackathon's leaderboard (HTML + CSV) "
                    "from the gradebook"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab.course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="regenerate course/ from solutions/ (nbgrader generate_assignment)")
    ex = sub.add_parser("execute", help="run every solutions notebook with papermill; record time and memory")
    ex.add_argument("--smoke", action="store_true", help="run in SMOKE mode (seconds per notebook)")
    ex.add_argument("--only", nargs="*", help="assignment name prefixes, e.g. 00 01_foundations")
    ex.add_argument("--condition", choices=("quiet", "busy", "binder"), default="quiet",
                    help="busy: a CPU-bound program per usable CPU beside each run; binder: inside a "
                         "cgroup of 1 CPU and 2 GB (needs root)")
    sub.add_parser("check", help="course/ in sync with solutions/, no leaks, cleared outputs, parameters cells")
    gr = sub.add_parser("grade", help="dry-run nbgrader autograde: model answers full marks, blanks zero")
    gr.add_argument("--only", nargs="*", help="assignment name prefixes")
    sub.add_parser("readme", help="rewrite the README course map from reports/execution.json")
    rc = sub.add_parser("recipes", help="has the code behind a shipped model changed since its recipe test passed?")
    rc.add_argument("--record", action="store_true",
                    help="record the current code as verified (after `make test-recipes` passes)")
    st = sub.add_parser("stress", help="SMOKE course + autograde batches, repeatedly, beside a CPU hog "
                                       "per core; count hangs")
    st.add_argument("--rounds", type=int, default=20, help="rounds (each: every notebook once + one autograde batch)")
    st.add_argument("--hogs", type=int, default=None,
                    help="CPU-bound programs beside the runs (default: one per usable CPU)")
    st.add_argument("--jobs", type=int, default=2, help="notebooks executed at a time")
    st.add_argument("--students", type=int, default=3, help="submissions per autograde batch")
    st.add_argument("--kill-after", type=float, default=600.0,
                    help="seconds after which a run still going is killed (a failure); a run that uses "
                         "no CPU for 120 s is killed at once as hung")
    st.add_argument("--only", nargs="*", help="assignment name prefixes")
    for name, (_, _, text) in DELEGATED.items():   # listed here; their options: `... NAME --help`
        sub.add_parser(name, help=text)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        module, function, _ = DELEGATED[argv[0]]
        return getattr(importlib.import_module(module), function)(argv[1:])
    args = parser.parse_args(argv)
    root = repo_root()
    handler = {"build": _build, "execute": _execute, "check": _check, "grade": _grade,
               "readme": _readme, "stress": _stress, "recipes": _recipes}[args.command]
    return handler(root, args)


if __name__ == "__main__":
    sys.exit(main())
