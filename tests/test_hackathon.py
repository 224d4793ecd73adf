"""13_hackathon end to end: four teams through nbgrader's autograde under hard limits, the hidden
scorer in its own process, scores in the gradebook, the leaderboard from it.

The teams (``TEAMS``): *alpha* submits the model answers; *bravo* trains for ever, ignoring its
budget (stopped at the wall-time limit, zero); *charlie* raises (crashed, zero); *delta* tries to
read the hidden data — the digits' test split through ``load_digits`` and the benchmark's table
(the guard refuses: zero, status "guard"); *echo* is weak but honest (uniform noise, random
search) and must rank below alpha. Submissions are placed in ``submitted/`` as ``nbgrader
collect`` leaves them (the exchange itself is tested in test_exchange.py). Small budgets (SMOKE
mode, 2 CPU-s) and submissions without the experiment cells keep the run short.

Plus fast unit tests of the limits (memory and time, without nbgrader) and of the guard.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from genlab.course import Assignment, repo_root
from genlab.course.grade import GradingRun, exercises_only
from genlab.hackathon import autograde, leaderboard
from genlab.hackathon.gradebook import read
from genlab.hackathon.limits import run_limited

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("hackathon")]   # one worker: one end-to-end run

ROOT = repo_root()
WALL_S, MEMORY_MB, BUDGET_S = 45.0, 1536.0, 2.0   # a team took 14-19 s (2 busy cores); the overrun costs WALL_S
SLACK_S = 10.0          # the kill itself: one poll (0.2 s) plus killing the tree

OVERRUN = '''
def train_generator(X_train, y_train, budget):
    model = nn.Linear(64, 64)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    while True:                    # ignores the budget
        loss = ((model(X_train) - X_train) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
'''
CRASH_GEN = '''
def train_generator(X_train, y_train, budget):
    raise RuntimeError("our generator is not ready")
'''
CRASH_SEARCH = '''
def make_strategy(seed):
    raise RuntimeError("nor is our search")
'''
CHEAT_GEN = '''
def train_generator(X_train, y_train, budget):
    from genlab.data import load_digits
    test = load_digits().X_test         # the judge's real digits: refused
    return lambda labels: test[: len(labels)]
'''
CHEAT_SEARCH = '''
def make_strategy(seed):
    from genlab.nas import benchmark
    table = open(benchmark.TABLE).read()  # the test accuracies: refused
    return search.RandomSearch(seed=seed)
'''
WEAK_GEN = '''
def train_generator(X_train, y_train, budget):
    return lambda labels: torch.rand(len(labels), 64)
'''
WEAK_SEARCH = '''
def make_strategy(seed):
    return search.RandomSearch(seed=seed)
'''
TEAMS = {"alpha": {}, "bravo": {"train_generator": OVERRUN},
         "charlie": {"train_generator": CRASH_GEN, "make_strategy": CRASH_SEARCH},
         "delta": {"train_generator": CHEAT_GEN, "make_strategy": CHEAT_SEARCH},
         "echo": {"train_generator": WEAK_GEN, "make_strategy": WEAK_SEARCH}}


@pytest.fixture(scope="module")
def hackathon(tmp_path_factory):
    start = time.monotonic()
    run = GradingRun(Assignment(autograde.ASSIGNMENT, ROOT), tmp_path_factory.mktemp("hackathon"))
    for name, answers in TEAMS.items():
        notebooks = run.answered({f"{autograde.ASSIGNMENT}.ipynb": answers})
        run.submit(name, {nb: exercises_only(v) for nb, v in notebooks.items()})   # no experiments: faster
    grading = run.root / "hackathon"
    cli = subprocess.run([sys.executable, "-m", "genlab.hackathon", "grade", "--root", str(run.root), "--db", run.db_url,
                          "--wall", str(WALL_S), "--memory", str(MEMORY_MB), "--budget", str(BUDGET_S), "--refresh", "10"],
                         capture_output=True, text=True, cwd=run.root)      # what the facilitator runs
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    run.cli = cli.stdout
    run.runs = {r.team: r for r in autograde.read_runs(grading)}
    run.page, run.table = (grading / "leaderboard.html").read_text(), (grading / "leaderboard.csv").read_text()
    run.grading = grading
    run.seconds = time.monotonic() - start
    print(f"hackathon end to end: {run.seconds:.0f} s; " +
          "; ".join(f"{r.team} {r.status} {r.seconds:.0f} s" for r in run.runs.values()) + "\n" + run.cli + run.table)
    return run


def test_statuses_and_reasons(hackathon):
    runs = hackathon.runs
    assert {t: r.status for t, r in runs.items()} == {
        "alpha": "ok", "bravo": "time limit", "charlie": "crashed", "delta": "guard", "echo": "ok"}, runs
    assert "our generator is not ready" in runs["charlie"].reason
    assert "hackathon rule" in runs["delta"].reason


def test_the_overrun_is_stopped_at_the_limit_and_nobody_else_is_affected(hackathon):
    bravo = hackathon.runs["bravo"]
    assert WALL_S <= bravo.seconds <= WALL_S + SLACK_S, bravo
    assert all(r.seconds < WALL_S for t, r in hackathon.runs.items() if t != "bravo")
    assert hackathon.runs["charlie"].status == "crashed"      # graded after bravo, on its own merits


def test_scores_in_the_gradebook(hackathon):
    scores = read(hackathon.db_url)
    assert set(scores) == set(TEAMS)
    for name in ("bravo", "charlie", "delta"):
        assert [s.points for s in scores[name].values()] == [0.0, 0.0], (name, scores[name])
    assert scores["bravo"]["generator"].status == "time limit" and scores["delta"]["search"].status == "guard"
    good, weak = scores["alpha"], scores["echo"]
    assert good["generator"].metrics["fd"] < weak["generator"].metrics["fd"]
    assert good["generator"].metrics["class_accuracy"] > 0.5 > weak["generator"].metrics["class_accuracy"]
    assert sum(s.points for s in good.values()) > sum(s.points for s in weak.values()) > 0
    secret = json.loads((hackathon.grading / "secret.json").read_text())
    assert isinstance(secret["judge_seed"], int)


def test_leaderboard_is_read_from_the_gradebook(hackathon):
    page, table = leaderboard.leaderboard(hackathon.db_url)
    assert table == hackathon.table and 'http-equiv="refresh"' not in page


def test_leaderboard_csv_and_html(hackathon):
    rows = list(csv.DictReader(io.StringIO(hackathon.table)))
    assert [r["team"] for r in rows][:2] == ["alpha", "echo"]
    assert {r["team"]: r["status"] for r in rows} == {
        "alpha": "ok", "echo": "ok", "bravo": "time limit", "charlie": "crashed", "delta": "guard"}
    assert all(float(r["total"]) == 0 and r["rank"] == "3" for r in rows[2:])   # ties share the rank
    page = hackathon.page
    assert page.startswith("<!DOCTYPE html>") and 'http-equiv="refresh"' in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    for text in ("alpha", "time limit", "guard", "crashed", "mean test regret", "FD"):
        assert text in page


# ---- fast unit tests: no nbgrader ------------------------------------------------------------------

def test_memory_limit_kills_the_tree():
    hog = "import time\nblocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20)); time.sleep(0.05)"
    r = run_limited([sys.executable, "-c", hog], wall_s=60, memory_mb=300)
    assert r.stopped == "memory limit" and r.seconds < 30, r


def test_time_limit_kills_children_too():
    child = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'while True: pass'])"
    start = time.monotonic()
    r = run_limited([sys.executable, "-c", child], wall_s=2, memory_mb=4000)
    assert r.stopped == "time limit" and time.monotonic() - start < 8, r


GUARDED = textwrap.dedent('''
    import os, sys, subprocess
    from genlab.hackathon import guard
    from genlab.data import load_digits
    load_digits()                                  # before the guard: fine
    guard.install()
    import torch
    x = torch.randn(64, 8, requires_grad=True); (x ** 2).sum().backward()   # torch trains under it
    seen = []
    def add_hook():                                # CPython drops the new hook when one refuses it
        sys.addaudithook(lambda event, args: seen.append(event))
        os.getcwd(), open(os.devnull).close()
        if not seen:
            raise PermissionError("hackathon rule: the hook was not added")
    for name, attempt in [("digits", load_digits), ("subprocess", lambda: subprocess.run(["true"])),
                          ("system", lambda: os.system("true")), ("gc", lambda: __import__("gc").get_objects()),
                          ("ctypes", lambda: __import__("ctypes").CDLL(None)),
                          ("hook", add_hook),
                          ("gradebook", lambda: open("gradebook.db", "w"))]:
        try:
            attempt()
            print(name, "ALLOWED")
        except PermissionError as err:
            assert "hackathon rule" in str(err)
            print(name, "denied")
''')


def test_guard_denies_reads_programs_and_memory(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    out = subprocess.run([sys.executable, "-c", GUARDED], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [w for name in ("digits", "subprocess", "system", "gc", "ctypes", "hook", "gradebook")
                                  for w in (name, "denied")], out.stdout
    assert "HACKATHON GUARD denied open(" in out.stderr
