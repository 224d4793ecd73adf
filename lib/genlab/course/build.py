"""Regenerate ``course/`` from ``solutions/`` with nbgrader's ``generate_assignment``."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import RELEASE, Assignment, assignments
from .watchdog import Guarded, Hung, run_guarded

NBGRADER_GUARD = 1800   # seconds; no nbgrader command of the course takes a tenth of it
NBGRADER_STALL = 120    # no CPU progress in nbgrader and its kernel for this long: a hang
NBGRADER_NUDGE = 30     # ... for this long: nudge the kernel (watchdog.py)


def nbgrader(root: Path, *args: str, env: dict | None = None,
             timeout: float = NBGRADER_GUARD) -> Guarded:
    """Run ``nbgrader <args>`` in the course root (so it reads ``nbgrader_config.py``).

    nbgrader calls the ``alembic`` command by name, so this environment's bin folder goes
    first on PATH even when the venv is not activated. A command still running after
    ``timeout`` seconds, or using no CPU for ``NBGRADER_STALL`` seconds, raises ``Hung`` with
    the stacks of nbgrader and its kernel (``watchdog.run_guarded``).
    """
    env = dict(env if env is not None else os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = run_guarded([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, timeout=timeout,
                       stall_after=NBGRADER_STALL, nudge_after=NBGRADER_NUDGE)
    if proc.timed_out:
        raise Hung(f"nbgrader {' '.join(args)} killed: {proc.reason}", proc.stacks, proc.hung)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def generate(assignment: Assignment, release_root: Path, db_url: str) -> None:
    """Write the student version of one assignment into ``release_root/<name>``."""
    nbgrader(assignment.root, "generate_assignment", assignment.name, "--force",
             f"--CourseDirectory.release_directory={release_root}",
             f"--CourseDirectory.db_url={db_url}")


def build(root: Path, release_root: Path | None = None, db_url: str | None = None) -> list[str]:
    """Regenerate every assignment; remove released folders whose source is gone.

    ``db_url`` defaults to the course's own gradebook (so a later ``nbgrader autograde``
    knows the assignment); ``check`` builds into a temporary folder and database instead.
    Returns the names built.
    """
    release_root = release_root or root / RELEASE
    release_root.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    names = []
    for assignment in assignments(root):
        generate(assignment, release_root, db_url)
        names.append(assignment.name)
    for stale in release_root.iterdir():
        if stale.is_dir() and stale.name not in names:
            shutil.rmtree(stale)
    return names


def build_each(root: Path, release_root: Path, gradebooks: Path, jobs: int | None = None) -> list[str]:
    """Build every assignment into ``release_root``, each with a gradebook of its own
    (``gradebooks/<name>.db``), ``jobs`` nbgrader processes at a time (default: one per usable
    CPU). A throwaway build for checks and dry-run grading: the released notebooks are the same
    bytes as ``build``'s, and separate gradebooks let the assignments build side by side."""
    from ..runtime import usable_cpus
    release_root.mkdir(parents=True, exist_ok=True)
    gradebooks.mkdir(parents=True, exist_ok=True)
    todo = assignments(root)
    with ThreadPoolExecutor(max_workers=jobs or usable_cpus()) as pool:
        list(pool.map(lambda a: generate(a, release_root, f"sqlite:///{gradebooks / a.name}.db"), todo))
    return [a.name for a in todo]


def build_to_temp(root: Path) -> tuple[Path, tempfile.TemporaryDirectory]:
    """Build into a throwaway folder (``build_each``); the caller keeps ``tmp`` alive while
    reading. Assignment ``name``'s gradebook is ``<release folder>/../gradebooks/<name>.db``."""
    tmp = tempfile.TemporaryDirectory(prefix="genlab-build-")
    out = Path(tmp.name) / RELEASE
    build_each(root, out, Path(tmp.name) / "gradebooks")
    return out, tmp
