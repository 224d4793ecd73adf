"""Test-wide set-up: nothing is written to the real home directory.

HOME, Jupyter's and IPython's folders, matplotlib's config and genlab's cache all point
into one temporary folder for the whole session (subprocesses inherit them).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="genlab-test-home-"))


def pytest_configure(config: pytest.Config) -> None:
    matplotlib.use("Agg")
    for var, sub in [("HOME", "home"), ("JUPYTER_CONFIG_DIR", "jupyter/config"),
                     ("JUPYTER_DATA_DIR", "jupyter/data"), ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"),
                     ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl"), ("GENLAB_CACHE_DIR", "cache")]:
        path = _HOME / sub
        path.mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(path)
    os.environ["GENLAB_ROOT"] = str(ROOT)
    os.environ.pop("GENLAB_SMOKE", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
