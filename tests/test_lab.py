"""`make lab` serves JupyterLab on 127.0.0.1 with course/ as its root folder."""
from __future__ import annotations

import json
import re
import urllib.request

import pytest
from labserver import make_lab

pytestmark = pytest.mark.realuse


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


def test_make_lab_serves_the_course(tmp_path):
    with make_lab(tmp_path / "lab.log") as lab:
        status, page = _get(lab.url("/lab"))
        assert status == 200 and "JupyterLab" in page
        _, listing = _get(lab.url("/api/contents"))
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert "00_orientation" in names and "solutions" not in names  # rooted at course/
        _, folder = _get(lab.url("/api/contents/00_orientation"))
        assert "00_orientation.ipynb" in {i["name"] for i in json.loads(folder)["content"]}
        _, specs = _get(lab.url("/api/kernelspecs"))
        assert "python3" in json.loads(specs)["kernelspecs"]
        config = json.loads(re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        federated = {ext["name"] for ext in config["federated_extensions"]}
        assert {"@jupyter-widgets/jupyterlab-manager", "@jupyter/nbgrader"} <= federated
        # Offline: JupyterLab is told not to fetch news or check for updates.
        assert config["news"] == {"disabled": True}, config.get("news")
