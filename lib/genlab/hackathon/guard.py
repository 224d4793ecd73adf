"""The hackathon's guard: an audit hook that keeps a team's code away from the hidden scorer's data.

13_hackathon's locked set-up cell loads what a team may see (the digits' training split, a
validation-only oracle of DigitsBench-201), drops the library's caches, and then calls
``install()``. From then on every ``open`` of a protected path and every way of starting a
program or reaching raw memory raises ``PermissionError`` naming the hackathon rule, and a line
``HACKATHON GUARD denied ...`` goes to the kernel's stderr (file descriptor 2, which the grader
captures), so a team that catches the error is still seen.

Why an audit hook (PEP 578): ``sys.addaudithook`` hooks **cannot be removed** from Python code,
and CPython raises the events below inside ``open``, ``os.open``, ``io.open_code``,
``subprocess.Popen``, ``os.system``, the ``os.exec*``/``spawn*`` family and ``ctypes``, whatever
library calls them (numpy, torch, pandas, gzip and pathlib all open files through them).

Threat model, honestly:

- **Blocked**: reading the benchmark's tables (``genlab/nas/data``: the test accuracies), sklearn's
  bundled digits file (the test split of ``load_digits``), genlab's cache (the judge's weights),
  ``solutions/`` (the hidden tests, their seeds), any ``gradebook.db``, the grading folders the
  grader names in ``GENLAB_HACKATHON_DENY`` (other teams' submissions, the scorer's secrets; the team's own
  export folder ``GENLAB_HACKATHON_EXPORT`` stays writable),
  ``/proc/*/mem``; linking a protected file elsewhere (``os.link``/``os.symlink``; ``open``
  resolves symbolic links first); starting any program (``subprocess``, ``os.system``,
  ``os.exec*``, ``os.spawn*``, ``os.posix_spawn``, ``pty.spawn``); ``ctypes`` (loading libraries,
  reading memory at an address, calling C functions); ``gc.get_objects``/``get_referrers``/
  ``get_referents`` (finding objects the set-up dropped). A hook raising also stops a nested
  ``sys.addaudithook`` call (a team cannot add a hook that runs first).
- **Not blocked**: a determined attacker with native code — a compiled extension module
  imported from a writable folder can call ``open(2)`` without any audit event; so can code
  that already holds a ``ctypes`` object created before the hook. The guard stops a team from
  *reading the hidden data* with Python, which is the rule; it is not a sandbox. The hard
  limits on time and memory (``genlab.hackathon.limits``) are enforced outside the kernel.
- sklearn estimators that size thread pools through ``threadpoolctl`` (``KMeans``, for one) use
  ``ctypes`` and are refused: teams use torch or numpy, as the course does.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

RULE = "hackathon rule: a team's code may not read the hidden scorer's data or start programs"
DENY_ENV = "GENLAB_HACKATHON_DENY"      # extra protected folders, os.pathsep-separated
BLOCKED_EVENTS = (
    "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.forkpty", "pty.spawn",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.cdata/buffer",
    "ctypes.string_at", "ctypes.wstring_at", "ctypes.call_function", "ctypes.addressof",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "sys.addaudithook", "os.link", "os.symlink",
)

_installed: list[tuple[str, ...]] = []


def protected_paths() -> list[Path]:
    """The folders and files a team's code may not open (resolved), see the module doc."""
    import sklearn.datasets

    import genlab
    from genlab.nas import benchmark
    from genlab.runtime import cache_dir

    paths = [benchmark.DATA_DIR, Path(sklearn.datasets.__file__).parent / "data", cache_dir(),
             Path(genlab.__file__).resolve().parents[2] / "solutions"]
    paths += [Path(p) for p in os.environ.get(DENY_ENV, "").split(os.pathsep) if p]
    return [p.resolve() for p in paths]


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root + os.sep)


def _denied_path(path: object, roots: tuple[str, ...], allowed: str | None = None) -> str | None:
    """The protected root ``path`` lies in (or a reason), else None. File descriptors pass, and
    so does the team's own export folder (``allowed``), which may lie inside a protected one."""
    if isinstance(path, int):
        return None
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return None
    if allowed and _inside(real, allowed):
        return None
    if os.path.basename(real) == "gradebook.db":
        return "the gradebook"
    if real.startswith("/proc/") and real.endswith("/mem"):
        return "process memory"
    for root in roots:
        if _inside(real, root):
            return root
    return None


def _refuse(what: str) -> None:
    try:
        os.write(2, f"HACKATHON GUARD denied {what}\n".encode(errors="replace"))
    except OSError:
        pass
    raise PermissionError(f"{RULE} (denied: {what})")


def install(paths: list[Path] | None = None) -> tuple[str, ...]:
    """Install the guard in this process (once; it cannot be removed). Returns the protected roots.

    Call it after loading everything the team may use: files opened earlier stay readable
    through the objects that hold them."""
    if _installed:
        return _installed[0]
    roots = tuple(str(p) for p in (paths if paths is not None else protected_paths()))
    blocked = frozenset(BLOCKED_EVENTS)
    from .team import export_folder
    allowed = str(export_folder().resolve())    # made before the hook: mkdtemp opens nothing, but says so

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            where = _denied_path(args[0], roots, allowed) if args else None
            if where is not None:
                _refuse(f"open({args[0]!r}): inside {where}")
        elif event in ("os.rename", "os.link", "os.symlink") and args:
            if event != "os.rename" or _denied_path(args[0], roots, allowed):
                _refuse(f"{event}{args[:2]!r}")
        elif event in blocked:
            _refuse(f"{event}")

    sys.addaudithook(hook)
    _installed.append(roots)
    return roots
