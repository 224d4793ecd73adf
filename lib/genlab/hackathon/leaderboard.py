"""The hackathon leaderboard, read from nbgrader's gradebook: one self-contained HTML page and a CSV.

``leaderboard(db_url)`` returns ``(html, csv)``: the combined ranking (the two tracks' points
added, 200 at most), then each track ranked by its points, with the raw numbers (FD, class
accuracy, mean test regret) and each team's status — ok, time limit, memory limit, crashed,
guard. Ties share a rank. The page has no scripts and no external assets; ``refresh`` adds a
``<meta http-equiv="refresh">`` so a browser on the projector reloads it while grading goes on.

``python -m genlab.course leaderboard`` calls ``main``.
"""
from __future__ import annotations

import argparse
import csv
import html
import io
import sys
from pathlib import Path

from .gradebook import TrackScore, read

TRACK_NAMES = {"generator": "Track A: digits under a budget", "search": "Track B: architecture in 50 queries"}
METRICS = {"generator": ("fd", "class_accuracy"), "search": ("regret",)}
STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
         "margin-bottom:2em}th,td{border:1px solid #ccc;padding:.3em .8em;text-align:right}"
         "th{background:#f3f3f3}td.name,td.status{text-align:left}tr.bad td{color:#a00}")


def ranks(values: list[float]) -> list[int]:
    """Competition ranks for scores where higher is better: 1, 2, 2, 4."""
    return [1 + sum(v > x for v in values) for x in values]


def rows(scores: dict[str, dict[str, TrackScore]]) -> list[dict]:
    """One row per team: its rank, total, and per track points, status and metrics; best first."""
    out = []
    for name, tracks in scores.items():
        row = {"team": name, "total": round(sum(t.points for t in tracks.values()), 2)}
        bad = [t.status for t in tracks.values() if t.status != "ok"]
        row["status"] = bad[0] if bad else "ok"
        for track, t in tracks.items():
            row[f"{track}_points"], row[f"{track}_status"] = t.points, t.status
            for m in METRICS[track]:
                row[f"{track}_{m}"] = t.metrics.get(m)
        out.append(row)
    for r, rank in zip(out, ranks([r["total"] for r in out])):
        r["rank"] = rank
    for track in METRICS:
        for r, rank in zip(out, ranks([r.get(f"{track}_points", 0.0) for r in out])):
            r[f"{track}_rank"] = rank
    return sorted(out, key=lambda r: (r["rank"], r["team"]))


COLUMNS = ["rank", "team", "total", "status", "generator_rank", "generator_points", "generator_fd",
           "generator_class_accuracy", "generator_status", "search_rank", "search_points", "search_regret",
           "search_status"]


def _fmt(value) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _table(title: str, table: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = []
    for r in table:
        cls = "" if r.get(columns[-1][0], "ok") == "ok" else ' class="bad"'
        cells = "".join(f'<td class="{k}">{html.escape(_fmt(r.get(k)))}</td>' for k, _ in columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<h2>{html.escape(title)}</h2>\n<table><tr>{head}</tr>\n" + "\n".join(body) + "\n</table>"


def render_html(table: list[dict], refresh: int | None = None, title: str = "genlab hackathon") -> str:
    meta = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else ""
    parts = [_table("Overall", table, [("rank", "rank"), ("team", "team"), ("total", "points (of 200)"),
                                       ("status", "status")])]
    for track, metrics in METRICS.items():
        by = sorted(table, key=lambda r: (r[f"{track}_rank"], r["team"]))
        cols = [(f"{track}_rank", "rank"), ("team", "team"), (f"{track}_points", "points (of 100)")]
        cols += [(f"{track}_{m}", {"fd": "FD ↓", "class_accuracy": "class accuracy ↑", "regret": "mean test regret ↓"}[m])
                 for m in metrics]
        parts.append(_table(TRACK_NAMES[track], [dict(r, status=r[f"{track}_status"]) for r in by],
                            cols + [(f"{track}_status", "status")]))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{meta}<title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n" + "\n".join(parts) +
            "\n<p>Track A: 50 × class accuracy + 50 × (1 − FD / FD of class-mean + noise), judged by a classifier "
            "trained with a secret seed. Track B: 100 × (1 − regret / random search's regret). A stopped, "
            "crashed or guarded submission scores zero.</p></body></html>\n")


def render_csv(table: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in table:
        writer.writerow({k: _fmt(r.get(k)) for k in COLUMNS})
    return buf.getvalue()


def leaderboard(db_url: str, refresh: int | None = None) -> tuple[str, str]:
    """(html, csv) of the hackathon's scores in the gradebook at ``db_url``."""
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).exists():
        raise ValueError(f"no gradebook at {db_url} (nbgrader would create an empty one): give --root or --db")
    scores = read(db_url)
    if not scores:
        raise ValueError(f"no hackathon scores in {db_url}: run the grader (python -m genlab.hackathon grade) first")
    table = rows(scores)
    return render_html(table, refresh), render_csv(table)


def main(argv: list[str] | None = None) -> int:
    """``leaderboard [--db URL | --root DIR] [--out DIR] [--refresh SECONDS]``: write leaderboard.html and .csv."""
    p = argparse.ArgumentParser(prog="python -m genlab.course leaderboard", description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path("."), help="the course root (its gradebook.db)")
    p.add_argument("--db", help="gradebook URL (default: sqlite:///ROOT/gradebook.db)")
    p.add_argument("--out", type=Path, help="folder for leaderboard.html/.csv (default: ROOT/hackathon)")
    p.add_argument("--refresh", type=int, help="reload the page every SECONDS (for a live screen)")
    args = p.parse_args(argv)
    db = args.db or f"sqlite:///{(args.root / 'gradebook.db').resolve()}"
    out = args.out or args.root / "hackathon"
    out.mkdir(parents=True, exist_ok=True)
    page, table = leaderboard(db, args.refresh)
    (out / "leaderboard.html").write_text(page)
    (out / "leaderboard.csv").write_text(table)
    print(f"wrote {out / 'leaderboard.html'} and {out / 'leaderboard.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
