"""Test-wide set-up: nothing is written to the real home directory, and the suite uses every
usable CPU.

HOME, Jupyter's and IPython's folders, matplotlib's config and genlab's cache all point into one
temporary folder for the whole run (subprocesses and pytest-xdist's workers inherit them, so
the digits judge and 05's base GPT are built once per run, not once per worker).

Parallelism (pytest-xdist, ``-n auto --dist loadgroup`` in pyproject.toml): one worker per
usable CPU (``genlab.runtime.usable_cpus``: affinity and cgroup quota), each on one torch
thread, so the notebooks' kernels (one thread each, by the thread policy) never fight the
test process for a core. Tests that share an expensive module fixture carry an
``xdist_group`` mark and run on one worker. The slowest tests are handed out first. nbgrader
builds the course once per run (``course_build``), for the hygiene checks and every grading
cycle.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
_ENV = [("HOME", "home"), ("JUPYTER_CONFIG_DIR", "jupyter/config"), ("JUPYTER_DATA_DIR", "jupyter/data"),
        ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl"),
        ("GENLAB_CACHE_DIR", "cache")]
_MARK = "GENLAB_TEST_HOME"   # set by the controller; workers inherit the same folders

# Longest first, so that two workers finish together (seconds measured on 2 cores; a guess is
# enough: only the order matters). Tests not listed come after these, in file order.
_SLOW_FIRST = ["test_notebooks.py::test_notebook_runs_in_full_mode",
               # minutes each when the code behind a shipped model changed (skipped otherwise)
               "test_places_clip.py::test_shipped_places_clip_is_what_its_recipe_makes",
               "test_gpt_train.py::test_shipped_base_gpt_is_what_its_recipe_makes",
               "test_hackathon.py::test_statuses_and_reasons",   # its fixture grades five teams (~150 s)
               "test_grading_cycle.py", "test_exchange.py", "test_hub.py", "test_browser.py",
               "test_course_hygiene.py", "test_nas_benchmark.py", "test_kernel_polling.py",
               "test_darts.py", "test_expand.py", "test_lab.py"]


def pytest_configure(config: pytest.Config) -> None:
    matplotlib.use("Agg")
    if not os.environ.get(_MARK):   # the controller (or a run without xdist) makes the folders
        home = Path(tempfile.mkdtemp(prefix="genlab-test-home-"))
        os.environ[_MARK] = str(home)
        config._genlab_home = home
        for var, sub in _ENV:
            path = home / sub
            path.mkdir(parents=True, exist_ok=True)
            os.environ[var] = str(path)
    os.environ["GENLAB_ROOT"] = str(ROOT)
    os.environ.pop("GENLAB_SMOKE", None)
    from genlab.runtime import use_threads
    use_threads(1)   # one thread per worker process: one worker per CPU


def pytest_unconfigure(config: pytest.Config) -> None:
    home = getattr(config, "_genlab_home", None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)
        os.environ.pop(_MARK, None)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per CPU this process may really use (not the host's count)."""
    from genlab.runtime import usable_cpus
    return usable_cpus()


def _rank(item: pytest.Item) -> int:
    nodeid = item.nodeid.split("tests/", 1)[-1]
    for rank, prefix in enumerate(_SLOW_FIRST):
        if nodeid.startswith(prefix):
            return rank
    return len(_SLOW_FIRST)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--after-course", action="store_true",
                     help="run only the after-course tests (marker aftercourse): they read what a "
                          "whole run just produced (the executed notebooks, the SMOKE times); "
                          "`make test` runs them second")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    after = config.getoption("--after-course")
    keep = [item for item in items if (item.get_closest_marker("aftercourse") is not None) == after]
    if len(keep) < len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
        items[:] = keep
    items.sort(key=_rank)   # stable: the order within a rank is the file order


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def course_build() -> Path:
    """``course/`` rebuilt from ``solutions/`` by nbgrader, once per test run: every worker
    waits on one lock and the first builds. Returns the release folder; assignment ``name``'s
    gradebook is ``../gradebooks/<name>.db`` beside it (``GradingRun(built=...)``)."""
    from genlab.course import RELEASE
    from genlab.course.build import build_each

    shared = Path(os.environ[_MARK]) / "course-build"
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "done").exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            build_each(ROOT, shared / RELEASE, shared / "gradebooks")
            (shared / "done").touch()
    return shared / RELEASE
