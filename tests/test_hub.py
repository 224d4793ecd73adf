"""A class on one machine through a real JupyterHub (deploy/local/jupyterhub_config.py).

The hub runs from the venv with the proxy from deploy/local/node_modules, on 127.0.0.1 and
free ports, with its state in a temporary folder: two learners (ada, grace) and one
instructor (ines), whose course folder holds the repository's nbgrader_config.py and
solutions/00_orientation. Everything goes over HTTP as a browser would: log in, start the
server, then JupyterLab's own endpoints with the ``_xsrf`` cookie echoed in ``X-XSRFToken``.

The instructor generates and releases 00_orientation with the formgrader; each learner lists,
fetches, edits and submits it with the Assignment List; the instructor collects. Asserted:
the learner password does not open the instructor's account; each learner's copy is in their
own home; learners have no formgrader and cannot reach another user's server; each submission
arrives under the learner's hub name, with that learner's edit, and the formgrader lists both;
stopping the hub leaves no process behind. Not covered: TLS, system users, resource limits,
autograding (tests/test_exchange.py grades through the same exchange).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
import requests

from labserver import free_port

pytestmark = pytest.mark.realuse

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "local" / "jupyterhub_config.py"
PROXY = ROOT / "deploy" / "local" / "node_modules" / ".bin" / "configurable-http-proxy"
NAME = "00_orientation"
NOTEBOOK = f"{NAME}.ipynb"
COURSE = "genlab"
LEARNERS = ("ada", "grace")
INSTRUCTOR = "ines"
PASSWORD = "workshop-room-7"
INSTRUCTOR_PASSWORD = secrets.token_urlsafe(32)
TIMEOUT = 30  # seconds, for one HTTP request
SPAWN_TIMEOUT = 90  # seconds, for the hub or a user's server to come up
INSTRUCTOR_TOOLS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                    "@jupyter/nbgrader:course-list"}


class Hub:
    """The hub process, its log, and what a browser does with it."""

    def __init__(self, base: Path):
        self.state = base / "state"
        self.course = base / "course"
        self.course.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", self.course)
        shutil.copytree(ROOT / "solutions" / NAME, self.course / "solutions" / NAME)
        self.log = base / "hub.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, GENLAB_HUB_DIR=str(self.state), GENLAB_HUB_COURSE_DIR=str(self.course),
                   GENLAB_HUB_PORT=str(self.port), GENLAB_HUB_LEARNERS=",".join(LEARNERS),
                   GENLAB_HUB_INSTRUCTORS=INSTRUCTOR, GENLAB_HUB_PASSWORD=PASSWORD,
                   GENLAB_HUB_INSTRUCTOR_PASSWORD=INSTRUCTOR_PASSWORD)
        # The hub's internal API and the proxy's API take free ports too, not 8081 and 8001.
        cmd = [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG),
               f"--JupyterHub.hub_port={free_port()}",
               f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}"]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(cmd, cwd=self.log.parent, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while True:
            assert self.proc.poll() is None, self.explain(f"the hub exited ({self.proc.returncode})")
            try:
                if requests.get(self.url("/hub/health"), timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, self.explain("the hub did not come up")
            time.sleep(0.3)

    def stop(self) -> list[psutil.Process]:
        """Stop the hub as systemd or `kill` does; return what it left running (killed here)."""
        if self.proc is None:
            return []
        try:
            left = psutil.Process(self.proc.pid).children(recursive=True)  # proxy, servers
        except psutil.NoSuchProcess:
            left = []
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        _, alive = psutil.wait_procs(left, timeout=10)
        for p in alive:
            p.kill()
        return alive

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def explain(self, message: str) -> str:
        tail = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
        return f"{message}\n--- tail of the hub log ({self.log}) ---\n{tail}"

    def login(self, name: str, password: str) -> tuple[int, requests.Session]:
        """Post the login form, with the _xsrf cookie the form's page set; 302 is success."""
        s = requests.Session()
        s.get(self.url("/hub/login"), timeout=TIMEOUT)
        r = s.post(self.url("/hub/login"), timeout=TIMEOUT, allow_redirects=False,
                   data={"username": name, "password": password,
                         "_xsrf": s.cookies.get("_xsrf", path="/hub/")})
        return r.status_code, s

    def open_lab(self, name: str, password: str) -> tuple[requests.Session, dict]:
        """Log in, start the user's server and open its JupyterLab, as a browser would.

        Returns the browser's session and JupyterLab's page config.
        """
        status, s = self.login(name, password)
        assert status == 302, self.explain(f"{name} could not log in: HTTP {status}")
        deadline = time.monotonic() + SPAWN_TIMEOUT
        r = s.get(self.url(f"/hub/spawn/{name}"), timeout=TIMEOUT)
        while not (r.status_code == 200 and urlparse(r.url).path == f"/user/{name}/lab"):
            assert self.proc.poll() is None, self.explain("the hub exited")
            assert "Spawn failed" not in r.text, self.explain(f"{name}'s server failed to start")
            assert time.monotonic() < deadline, self.explain(
                f"{name}'s JupyterLab did not open: last {r.status_code} {r.url}")
            time.sleep(0.5)
            r = s.get(self.url(f"/hub/spawn-pending/{name}"), timeout=TIMEOUT)
        # JupyterLab's POSTs carry its _xsrf cookie (path /user/<name>/) back in a header.
        s.headers["X-XSRFToken"] = s.cookies.get("_xsrf", path=f"/user/{name}/")
        page = re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', r.text, re.S)
        assert page, self.explain(f"/user/{name}/lab is not JupyterLab:\n{r.text[:500]}")
        return s, json.loads(page.group(1))


@pytest.fixture
def hub(tmp_path):
    if not (PROXY.exists() and shutil.which("node")):
        message = f"configurable-http-proxy (and node) are needed at {PROXY}: run `make test-tools`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    h = Hub(tmp_path)
    try:
        h.start()
        yield h
    finally:
        h.stop()


def _ok(hub: Hub, response: requests.Response, what: str):
    """The JSON of a Jupyter or nbgrader reply, which must be a success."""
    assert response.status_code == 200, hub.explain(
        f"{what}: HTTP {response.status_code} {response.text[:500]}")
    body = response.json()
    if isinstance(body, dict) and "success" in body:
        assert body["success"], hub.explain(f"{what} failed:\n{body.get('error') or body.get('value')}"
                                            f"\n{body.get('log', '')}")
    return body


def _status(listing: dict, status: str) -> list[dict]:
    return [a for a in listing["value"]
            if a["assignment_id"] == NAME and a["course_id"] == COURSE and a["status"] == status]


def test_a_class_on_one_hub(hub):
    url = hub.url

    # The learners' password does not open the instructor's account.
    assert hub.login(INSTRUCTOR, PASSWORD)[0] == 403

    # Everyone logs in at once, as a room does.
    users = (INSTRUCTOR, *LEARNERS)
    passwords = [INSTRUCTOR_PASSWORD, *[PASSWORD] * len(LEARNERS)]
    with ThreadPoolExecutor(len(users)) as pool:
        opened = dict(zip(users, pool.map(hub.open_lab, users, passwords)))
    sessions = {name: s for name, (s, _) in opened.items()}
    disabled = {name: set(config["disabledExtensions"]) for name, (_, config) in opened.items()}
    assert not INSTRUCTOR_TOOLS & disabled[INSTRUCTOR]
    assert all(INSTRUCTOR_TOOLS <= disabled[name] for name in LEARNERS), disabled
    ines = sessions[INSTRUCTOR]

    # The instructor generates the learners' version and releases it with the formgrader.
    fg = f"/user/{INSTRUCTOR}/formgrader/api"
    _ok(hub, ines.post(url(f"{fg}/assignment/{NAME}/assign"), timeout=TIMEOUT), "generate")
    assert (hub.course / "course" / NAME / NOTEBOOK).is_file()  # release_directory = "course"
    _ok(hub, ines.post(url(f"{fg}/assignment/{NAME}/release"), timeout=TIMEOUT), "release")
    assert (hub.state / "exchange" / COURSE / "outbound" / NAME / NOTEBOOK).is_file()

    # Each learner lists, fetches, works on and submits it with the Assignment List.
    for name in LEARNERS:
        s, user = sessions[name], f"/user/{name}"
        listing = _ok(hub, s.get(url(f"{user}/assignments"), params={"course_id": COURSE},
                                 timeout=TIMEOUT), f"{name} lists")
        assert _status(listing, "released"), listing
        action = {"assignment_id": NAME, "course_id": COURSE}
        listing = _ok(hub, s.post(url(f"{user}/assignments/fetch"), json=action, timeout=TIMEOUT),
                      f"{name} fetches")
        assert _status(listing, "fetched"), hub.explain(f"{name}'s fetch: {listing}")
        folder = _ok(hub, s.get(url(f"{user}/api/contents/{NAME}"), timeout=TIMEOUT), "contents")
        assert NOTEBOOK in {item["name"] for item in folder["content"]}
        assert (hub.state / "home" / name / NAME / NOTEBOOK).is_file()  # in their own home
        path = url(f"{user}/api/contents/{NAME}/{NOTEBOOK}")
        model = _ok(hub, s.get(path, timeout=TIMEOUT), "open the notebook")
        nb = model["content"]
        nb["cells"].append({"cell_type": "markdown", "id": f"work-{name}", "metadata": {},
                           "source": f"Answered by {name}."})
        _ok(hub, s.put(path, json={"type": "notebook", "format": "json", "content": nb},
                       timeout=TIMEOUT), f"{name} saves")
        listing = _ok(hub, s.post(url(f"{user}/assignments/submit"), json=action, timeout=TIMEOUT),
                      f"{name} submits")
        assert _status(listing, "submitted"), hub.explain(f"{name}'s submission: {listing}")

    # Learners have no formgrader, and another user's server does not let them in.
    ada, grace = (sessions[n] for n in LEARNERS)
    assert ada.get(url("/user/ada/formgrader/api/assignments"), timeout=TIMEOUT).status_code == 404
    r = ada.get(url(f"/user/grace/api/contents/{NAME}/{NOTEBOOK}"), timeout=TIMEOUT)
    assert r.status_code == 403 and "Answered by grace" not in r.text
    r = ada.get(url("/user/grace/lab"), timeout=TIMEOUT)  # the hub refuses ada grace's server
    assert r.status_code == 403 and urlparse(r.url).path == "/hub/api/oauth2/authorize"
    assert grace.get(url(f"/user/grace/api/contents/{NAME}"), timeout=TIMEOUT).status_code == 200

    # The instructor collects: one submission per learner, under their hub name.
    _ok(hub, ines.post(url(f"{fg}/assignment/{NAME}/collect"), timeout=TIMEOUT), "collect")
    submitted = hub.course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(LEARNERS)
    for name in LEARNERS:
        text = (submitted / name / NAME / NOTEBOOK).read_text()
        assert f"Answered by {name}." in text
        assert not [other for other in LEARNERS if other != name and f"Answered by {other}." in text]
    listed = _ok(hub, ines.get(url(f"{fg}/submissions/{NAME}"), timeout=TIMEOUT), "submissions")
    assert sorted(sub["student"] for sub in listed) == sorted(LEARNERS)
    assert all(sub["submitted"] and not sub["autograded"] for sub in listed)

    # Stopping the hub stops the proxy and every user's server.
    assert hub.stop() == [], "processes left running after the hub stopped"
