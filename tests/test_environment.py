"""Set-up files, validated offline: pyproject, Makefile, conda environments, Binder, CI entry."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from rattler import MatchSpec

ROOT = Path(__file__).resolve().parents[1]
REPO_INSTALL = "-e ."


def _env(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def _split(env: dict) -> tuple[list[str], list[str]]:
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [p for d in env["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    return conda, pip


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_environment_specs_parse_and_are_cpu_only(path):
    env = _env(path)
    assert env["channels"] == ["conda-forge"]
    conda, _ = _split(env)
    specs = [MatchSpec(s) for s in conda]  # raises on a malformed spec
    names = {s.name.normalized for s in specs}
    assert {"python", "pytorch-cpu", "jupyterlab", "nbgrader", "ipywidgets", "papermill"} <= names
    assert not names & {"pytorch", "pytorch-gpu", "cudatoolkit", "cuda-version", "torchvision"}


def test_root_and_binder_environments_agree():
    root_conda, root_pip = _split(_env("environment.yml"))
    binder_conda, binder_pip = _split(_env("binder/environment.yml"))
    assert root_conda == binder_conda
    # The only difference: the root file installs the repo itself; Binder's postBuild does that.
    assert root_pip == binder_pip + [REPO_INSTALL]


def test_conda_and_pip_requirements_name_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {re.split(r"[<>=!~ ]", d)[0].lower() for d in project["dependencies"]}
    conda_names = {MatchSpec(s).name.normalized for s in _split(_env("environment.yml"))[0]}
    renamed = {"torch": "pytorch-cpu", "matplotlib": "matplotlib-base"}
    assert {renamed.get(n, n) for n in pip_names} <= conda_names


def test_pyproject_uses_ranges_not_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for ds in project["optional-dependencies"].values() for d in ds]
    pinned = [d for d in deps if "==" in d]
    assert not pinned, f"use version ranges in pyproject.toml, not pins: {pinned}"
    assert "torch>=2.4" in project["dependencies"]


def test_makefile_installs_cpu_torch_before_genlab():
    text = (ROOT / "Makefile").read_text()
    torch_at, genlab_at = text.find("pip install torch==2.13.0"), text.find("pip install -e '.[test]'")
    assert 0 <= torch_at < genlab_at, "torch==2.13.0 must be installed first (it is the CPU build)"
    assert re.search(r"^lab:", text, re.M) and re.search(r"^test:", text, re.M)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_binder_postbuild_installs_genlab_and_student_extensions():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK)
    text = post.read_text()
    assert "pip install --no-deps -e ." in text
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert f"labextension disable" in text and plugin in text
    assert "assignment-list" not in text and "validate" not in text  # the student tools stay on


def test_readme_binder_badge_opens_orientation_in_jupyterlab():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"\(https://mybinder\.org/v2/gh/[^)]*\)", readme)
    assert match, "README needs a Binder badge"
    assert "urlpath=lab/tree/course/00_orientation" in match.group(0)


def test_repo2docker_produces_a_dockerfile(tmp_path):
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-repo2docker"), "--no-build", "--debug",
         "--user-id", "1000", "--user-name", "jovyan", str(ROOT)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, HOME=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    dockerfile = proc.stdout
    assert dockerfile.lstrip().startswith("FROM") or "\nFROM " in dockerfile
    assert 'binder/environment.yml' in dockerfile and "./binder/postBuild" in dockerfile
