"""Every wrong answer graded alone, in a second or two each: the set-up runs once, then each
submission runs in a forked copy of that state.

design.md ("Grading") asks that each plausible wrong answer lose points on its own, one
submission each. Through nbgrader's autograde every submission starts a kernel and runs the
set-up again (imports and data: 6–15 s on a 2-core machine), and 00–05 alone hold over 200
wrong answers. Here one Python process (an IPython shell, so cells run as in a kernel and
failures render as there) runs the set-up cells once; for each submission it forks, and the child
runs the solution cells (the model answers with that one cell replaced) and the test cells in
order, scoring as nbgrader does: a test cell earns its points when it raises nothing. A fork
starts from exactly the state a fresh run of the set-up leaves, so nothing one submission does
reaches the next. The grading-cycle test checks on a sample that this and nbgrader's autograde
agree cell by cell.

Run as ``python -m genlab.course.alone SPEC OUT`` (``grade_alone`` builds the spec and calls it).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import cell_source
from .feedback import hidden_lines

NOTEBOOK_JSON = dict


@dataclass
class TestResult:
    """One test cell of one submission: its score and, if it failed, why and where."""

    grade_id: str
    score: float
    max_score: float
    error: str | None = None
    where: str | None = None      # "visible" or "hidden" (the failing line's region); None if it passed


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def cells_of(source_nb: NOTEBOOK_JSON) -> list[dict]:
    """The code cells of an instructor's notebook as the grader runs them: ``setup`` (before the
    first nbgrader cell), then ``solution`` (model answer, markers removed), ``test`` (visible and
    hidden tests, as autograde restores them) and ``code`` (anything else) in notebook order."""
    out, seen = [], False
    for cell in source_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        seen = seen or bool(meta)
        if cell["cell_type"] != "code":
            continue
        source = cell_source(cell)
        if not seen:
            out.append({"kind": "setup", "source": source})
        elif meta.get("solution"):
            out.append({"kind": "solution", "grade_id": meta["grade_id"], "source": _strip_markers(source)})
        elif meta.get("grade"):
            out.append({"kind": "test", "grade_id": meta["grade_id"], "source": source,
                        "points": float(meta.get("points", 0))})
        else:
            out.append({"kind": "code", "source": source})
    return out


def grade_alone(source_nb: NOTEBOOK_JSON, submissions: list[dict[str, str]], cwd: Path,
                timeout: float = 300.0, env: dict[str, str] | None = None) -> list[list[TestResult]]:
    """Grade each submission ({grade_id: source} replacing model answers) alone; one list of
    test-cell results per submission, in order. ``cwd``: where the cells run (a copy of the
    released assignment folder, as nbgrader's submission folder). A submission still running
    after ``timeout`` seconds is killed and scores zero."""
    cells = cells_of(source_nb)
    with tempfile.TemporaryDirectory(prefix="genlab-alone-") as tmp:
        spec, out = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec.write_text(json.dumps({"cells": cells, "submissions": submissions, "timeout": timeout}))
        run_env = dict(os.environ if env is None else env, GENLAB_SMOKE="1", MPLBACKEND="Agg")
        proc = subprocess.run([sys.executable, "-m", "genlab.course.alone", str(spec), str(out)],
                              cwd=cwd, env=run_env, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"the set-up cells failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        raw = json.loads(out.read_text())
    tests = {c["grade_id"]: c for c in cells if c["kind"] == "test"}
    results = []
    for one in raw:
        row = []
        for r in one:
            where = None
            if r["error"] is not None:
                where = "hidden" if r["line"] in hidden_lines(tests[r["grade_id"]]["source"]) else "visible"
            row.append(TestResult(r["grade_id"], r["score"], r["max_score"], r["error"], where))
        results.append(row)
    return results


# ---- the child process -------------------------------------------------------------------------

def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.showtraceback = lambda *a, **k: None     # failures are recorded, not printed
    return shell


def _failing_line(shell, err: BaseException) -> int | None:
    """The line of the outermost notebook-cell frame (as ``feedback.failing_line`` reads it)."""
    names = shell.compile._filename_map
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in names:
            return tb.tb_lineno
        tb = tb.tb_next
    return getattr(err, "lineno", None)   # a SyntaxError in the cell itself


def _grade_one(shell, cells: list[dict], answers: dict[str, str]) -> list[dict]:
    out = []
    for cell in cells:
        if cell["kind"] == "setup":
            continue
        source = answers.get(cell.get("grade_id"), cell["source"]) if cell["kind"] == "solution" else cell["source"]
        result = shell.run_cell(source, store_history=True)
        if cell["kind"] == "test":
            err = result.error_before_exec or result.error_in_exec
            out.append({"grade_id": cell["grade_id"], "max_score": cell["points"],
                        "score": 0.0 if err else cell["points"],
                        "error": None if err is None else f"{type(err).__name__}: {err}"[:2000],
                        "line": None if err is None else _failing_line(shell, err)})
    return out


def _zero(cells: list[dict], why: str) -> list[dict]:
    return [{"grade_id": c["grade_id"], "max_score": c["points"], "score": 0.0, "error": why, "line": None}
            for c in cells if c["kind"] == "test"]


def main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    cells, timeout = spec["cells"], spec["timeout"]
    shell = _shell()
    for cell in cells:
        if cell["kind"] == "setup":
            result = shell.run_cell(cell["source"], store_history=True)
            if not result.success:
                err = result.error_before_exec or result.error_in_exec
                raise SystemExit(f"set-up cell failed: {type(err).__name__}: {err}\n{cell['source'][:500]}")
    sys.stdout.flush(), sys.stderr.flush()
    results = []
    with tempfile.TemporaryDirectory(prefix="genlab-alone-") as tmp:
        for i, answers in enumerate(spec["submissions"]):
            path = Path(tmp) / f"{i}.json"
            pid = os.fork()
            if pid == 0:   # the child: grade, write, leave without running the parent's exit hooks
                code = 1
                try:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, 1), os.dup2(devnull, 2)
                    path.write_text(json.dumps(_grade_one(shell, cells, answers)))
                    code = 0
                finally:
                    os._exit(code)
            start = time.monotonic()
            while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() - start < timeout:
                time.sleep(0.02)
            if done[0] == 0:   # over its time: stopped and scored zero, as a hung submission
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                results.append(_zero(cells, f"TimeoutError: stopped after {timeout:.0f} s"))
            elif path.exists():
                results.append(json.loads(path.read_text()))
            else:
                results.append(_zero(cells, "RuntimeError: the submission's process died"))
    Path(out_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:3])
