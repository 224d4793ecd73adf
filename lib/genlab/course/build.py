"""Regenerate ``course/`` from ``solutions/`` with nbgrader's ``generate_assignment``."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import RELEASE, Assignment, assignments
from .watchdog import Guarded, Hung, run_guarded

NBGRADER_GUARD = 1800   # seconds; no nbgrader command of the course takes a tenth of it


def nbgrader(root: Path, *args: str, env: dict | None = None,
             timeout: float = NBGRADER_GUARD) -> Guarded:
    """Run ``nbgrader <args>`` in the course root (so it reads ``nbgrader_config.py``).

    nbgrader calls the ``alembic`` command by name, so this environment's bin folder goes
    first on PATH even when the venv is not activated. A command still running after
    ``timeout`` seconds raises ``Hung`` with the stacks of nbgrader and its kernel.
    """
    env = dict(env if env is not None else os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = run_guarded([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, timeout=timeout)
    if proc.timed_out:
        raise Hung(f"nbgrader {' '.join(args)} still running after {timeout:.0f} s: killed", proc.stacks)
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


def build_to_temp(root: Path) -> tuple[Path, tempfile.TemporaryDirectory]:
    """Build into a throwaway folder and gradebook; the caller keeps ``tmp`` alive while reading."""
    tmp = tempfile.TemporaryDirectory(prefix="genlab-build-")
    out = Path(tmp.name) / RELEASE
    build(root, out, f"sqlite:///{Path(tmp.name) / 'gradebook.db'}")
    return out, tmp
