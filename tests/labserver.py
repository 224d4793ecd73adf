"""Start ``make lab`` on a free loopback port and stop it again (used by test_lab and test_browser)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LabServer:
    base: str       # http://127.0.0.1:PORT
    token: str
    log: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def make_lab(log: Path, lab_root: Path | None = None, env: dict | None = None,
             timeout: float = 120) -> Iterator[LabServer]:
    """``make lab PORT=<free> [LAB_ROOT=...]``, exactly as a learner starts it; killed on exit."""
    port = free_port()
    args = ["make", "--no-print-directory", "lab", f"PORT={port}"]
    if lab_root is not None:
        args.append(f"LAB_ROOT={lab_root}")
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env if env is not None else dict(os.environ))
    try:
        deadline, token = time.time() + timeout, None
        while token is None:
            assert proc.poll() is None, f"make lab exited:\n{log.read_text()[-3000:]}"
            assert time.time() < deadline, f"no JupyterLab URL printed:\n{log.read_text()[-3000:]}"
            match = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read_text())
            token = match and match.group(1)
            time.sleep(0.5)
        yield LabServer(f"http://127.0.0.1:{port}", token, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
