"""JupyterHub for a genlab class on one machine: a workshop room, not the internet.

From the repository root (deploy/local/README.md tells the whole story):

    make test-tools    # the venv, and configurable-http-proxy in deploy/local/node_modules
    GENLAB_HUB_LEARNERS=ada,grace GENLAB_HUB_INSTRUCTORS=ines \\
    GENLAB_HUB_PASSWORD=... GENLAB_HUB_INSTRUCTOR_PASSWORD=... \\
    .venv/bin/jupyterhub -f deploy/local/jupyterhub_config.py

Environment variables [defaults]:

    GENLAB_HUB_IP, GENLAB_HUB_PORT   where the hub listens [127.0.0.1, 8000]
    GENLAB_HUB_DIR                   its state: database, cookie secret, homes, exchange
                                     [deploy/local/state]
    GENLAB_HUB_COURSE_DIR            the instructors' course folder, with nbgrader_config.py
                                     [this repository]
    GENLAB_HUB_LEARNERS              learner names, comma-separated [none]
    GENLAB_HUB_INSTRUCTORS           instructor names, comma-separated [instructor]
    GENLAB_HUB_PASSWORD              the learners' shared password, 8+ characters [required]
    GENLAB_HUB_INSTRUCTOR_PASSWORD   the instructors' password, 32+ characters [required]

Everyone's server runs as the OS account that started the hub (SimpleLocalProcessSpawner):
learners are not isolated from each other, nor from the hidden tests in the course folder.
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("GENLAB_HUB_DIR") or HERE / "state").resolve()
COURSE = Path(os.environ.get("GENLAB_HUB_COURSE_DIR") or HERE.parents[1]).resolve()
EXCHANGE = STATE / "exchange"
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = os.environ.get("GENLAB_HUB_PASSWORD", "")
INSTRUCTOR_PASSWORD = os.environ.get("GENLAB_HUB_INSTRUCTOR_PASSWORD", "")


def names(var: str, default: str = "") -> set[str]:
    """User names from a comma-separated variable, in lower case as JupyterHub stores them."""
    return {n.strip().lower() for n in os.environ.get(var, default).split(",") if n.strip()}


LEARNERS = names("GENLAB_HUB_LEARNERS")
INSTRUCTORS = names("GENLAB_HUB_INSTRUCTORS", "instructor")

# Refuse to start, saying what to fix, rather than serve a hub nobody can use.
problems = []
if not PROXY.exists():
    problems.append(f"no proxy at {PROXY}: run `make test-tools`")
if len(PASSWORD) < 8:
    problems.append("set GENLAB_HUB_PASSWORD, the learners' password (8+ characters)")
if len(INSTRUCTOR_PASSWORD) < 32 or INSTRUCTOR_PASSWORD == PASSWORD:
    problems.append("set GENLAB_HUB_INSTRUCTOR_PASSWORD (32+ characters, not the learners'):"
                    " python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
if LEARNERS & INSTRUCTORS:
    problems.append(f"both learner and instructor: {', '.join(sorted(LEARNERS & INSTRUCTORS))}")
if any("+" in n or "*" in n for n in LEARNERS):
    problems.append("nbgrader's student ids cannot contain '+' or '*'")
if not (COURSE / "nbgrader_config.py").is_file():
    problems.append(f"no nbgrader_config.py in the course folder {COURSE} (GENLAB_HUB_COURSE_DIR)")
if problems:
    sys.exit("genlab hub: " + "\n  ".join(["cannot start:", *problems]))

# --- Where it listens and keeps its state ----------------------------------------------
# Loopback by default: set GENLAB_HUB_IP only on a trusted LAN, behind a TLS proxy.
# The hub's internal API (127.0.0.1:8081) and the proxy's (127.0.0.1:8001) keep JupyterHub's
# defaults; a second hub on the same machine needs --JupyterHub.hub_port and
# --ConfigurableHTTPProxy.api_url.
IP = os.environ.get("GENLAB_HUB_IP") or "127.0.0.1"
c.JupyterHub.bind_url = f"http://{IP}:{int(os.environ.get('GENLAB_HUB_PORT') or 8000)}"
STATE.mkdir(parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")  # created on first start
c.ConfigurableHTTPProxy.command = [str(PROXY)]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

# --- Who may log in -------------------------------------------------------------------
# Two shared passwords, for a room where the instructor hands out the learners' one. Anyone
# who knows it can log in as any learner; instructors are hub admins, with their own password.
# (Not DummyAuthenticator: its password is deprecated since JupyterHub 5.3, and it would let
# the learners' password open an instructor's account.)
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = PASSWORD
c.SharedPasswordAuthenticator.admin_password = INSTRUCTOR_PASSWORD
c.Authenticator.allowed_users = LEARNERS | INSTRUCTORS
c.Authenticator.admin_users = INSTRUCTORS

# --- Each user's JupyterLab -----------------------------------------------------------
# No system users: each server runs as this OS account, with HOME in the state folder.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
# This venv's server, which has genlab, nbgrader and their JupyterLab extensions.
BIN = Path(sys.executable).parent
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []
c.Spawner.default_url = "/lab"
# A room of servers starting at once on one laptop is slower than JupyterHub expects.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

# --- nbgrader across users ------------------------------------------------------------
# The exchange: instructors release into it, learners fetch from it and submit into it.
# World-writable, as nbgrader's docs ask, so it keeps working with real system users.
EXCHANGE.mkdir(exist_ok=True)
EXCHANGE.chmod(0o777)
c.Spawner.environment = {
    "GENLAB_EXCHANGE": str(EXCHANGE),
    # The venv's bin/ first, even when the hub was started without activating it: nbgrader
    # runs `alembic` by name to create a gradebook (the formgrader's first "Generate"), and
    # terminals should find this venv's nbgrader and python.
    "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", os.defpath)]),
}


def by_role(spawner) -> None:
    """Instructors work in the course folder with formgrader; learners in their home without it.

    Each role's Jupyter settings are a folder next to this file, put first on the server's
    JUPYTER_CONFIG_PATH: instructor/ points nbgrader at the course folder and the exchange;
    learner/ points it at the exchange, names submissions after the hub user, and turns
    off nbgrader's instructor tools (formgrader, course list, create assignment).
    """
    env = {**spawner.environment}
    if spawner.user.name in INSTRUCTORS:
        spawner.notebook_dir = str(COURSE)
        env.update(JUPYTER_CONFIG_PATH=str(HERE / "instructor"), GENLAB_COURSE_DIR=str(COURSE))
    else:
        spawner.notebook_dir = spawner.home_dir
        env.update(JUPYTER_CONFIG_PATH=str(HERE / "learner"))
    spawner.environment = env


c.Spawner.pre_spawn_hook = by_role
