"""`make lab` serves JupyterLab on 127.0.0.1 with course/ as its root folder."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


def test_make_lab_serves_the_course(tmp_path):
    port = _free_port()
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=dict(os.environ))
    try:
        url = None
        deadline = time.time() + 120
        while time.time() < deadline and url is None:
            assert proc.poll() is None, log.read_text()[-3000:]
            match = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read_text())
            url = match and match.group(0)
            time.sleep(0.5)
        assert url, f"no JupyterLab URL printed:\n{log.read_text()[-3000:]}"
        token = url.split("token=")[1]
        base = f"http://127.0.0.1:{port}"
        status, page = _get(url)
        assert status == 200 and "JupyterLab" in page
        _, listing = _get(f"{base}/api/contents?token={token}")
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert "00_orientation" in names and "solutions" not in names  # rooted at course/
        _, folder = _get(f"{base}/api/contents/00_orientation?token={token}")
        assert "00_orientation.ipynb" in {i["name"] for i in json.loads(folder)["content"]}
        _, specs = _get(f"{base}/api/kernelspecs?token={token}")
        assert "python3" in json.loads(specs)["kernelspecs"]
        config = json.loads(re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        federated = {ext["name"] for ext in config["federated_extensions"]}
        assert {"@jupyter-widgets/jupyterlab-manager", "@jupyter/nbgrader"} <= federated
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
