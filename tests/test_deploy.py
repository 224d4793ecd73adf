"""deploy/k8s, validated offline: Zero to JupyterHub values, the exchange PVC, the image build.

There is no cluster, helm or Docker engine here. These tests parse the files and check them
against each other, against genlab's own budgets and against the real code that will read
them: JupyterHub's ByteSpecification and traitlets classes, nbgrader's config files,
jupyter_server's and jupyterlab_server's config merging, repo2docker's command line.
deploy/k8s/README.md ("What was tested and what was not") lists what they cannot show.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from traitlets import HasTraits, TraitError
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
README = K8S / "README.md"
HOME = "/home/jovyan"  # the chart's default singleuser.storage.homeMountPath
REPO2DOCKER = Path(sys.executable).parent / "repo2docker"

# The z2jh values this config may set, read off the chart's own schema:
# github.com/jupyterhub/zero-to-jupyterhub-k8s, jupyterhub/values.schema.yaml at commit
# 02dd73df01bdbb6d602fed21b0be12565ab38080 (a 3.x/4.x revision from before 4.3.0: it has no
# httpRoute). The chart's changelog through 4.4.0 keeps every key below; 4.3.0 only lets the
# volume lists also be dicts. A dict lists the allowed child keys ("*": any name), a type the
# allowed value (the schema's); ANY marks what the chart passes through unchecked
# (hub.config: traitlets config, checked separately below; lists of k8s-native objects).
ANY = object()
NUMBER = (int, float)
EXTRA_FILE = {"mountPath": str, "data": dict, "stringData": str, "binaryData": str, "mode": NUMBER}
Z2JH_KEYS = {
    "hub": {"config": ANY},
    "singleuser": {
        "image": {"name": str, "tag": str, "pullPolicy": str, "pullSecrets": list},
        "uid": int,
        "defaultUrl": str,
        "cpu": {"limit": NUMBER, "guarantee": NUMBER},
        "memory": {"limit": (str, *NUMBER), "guarantee": (str, *NUMBER)},
        "storage": {"type": str, "homeMountPath": str, "capacity": str,
                    "extraVolumes": list, "extraVolumeMounts": list},
        "initContainers": list,
        "extraEnv": (dict, list),
        "extraFiles": {"*": EXTRA_FILE},
    },
    "cull": {"enabled": bool, "users": bool, "adminUsers": bool, "removeNamedServers": bool,
             "timeout": int, "every": int, "concurrency": int, "maxAge": int},
}
# KubeSpawner is not installed here; the two of its own traits this config uses, as defined in
# jupyterhub/kubespawner kubespawner/spawner.py. Everything else is checked against the
# installed JupyterHub's Spawner, which KubeSpawner subclasses.
KUBESPAWNER_TRAITS = {"working_dir", "lifecycle_hooks"}


# --- helpers -------------------------------------------------------------------------------

def _values() -> dict:
    return yaml.safe_load((K8S / "config.yaml").read_text())


def _pvc() -> dict:
    return yaml.safe_load((K8S / "exchange-pvc.yaml").read_text())


def _readme() -> str:
    return README.read_text()


def _instructor_override(values: dict) -> tuple[list[str], dict]:
    overrides = values["hub"]["config"]["KubeSpawner"]["group_overrides"]
    assert len(overrides) == 1, "one override: the instructors'"
    (override,) = overrides.values()
    return override["groups"], override["spawner_override"]


def _extra_file(values: dict, mount_path: str) -> dict:
    files = [f for f in values["singleuser"]["extraFiles"].values() if f["mountPath"] == mount_path]
    assert len(files) == 1, f"singleuser.extraFiles must mount exactly one file at {mount_path}"
    return files[0]


def _exec_nbgrader_config(text: str) -> tuple[Config, list[str]]:
    """Run an nbgrader_config.py as nbgrader would: ``get_config()`` gives a traitlets Config."""
    config, subconfigs = Config(), []
    exec(compile(text, "nbgrader_config.py", "exec"),
         {"get_config": lambda: config, "load_subconfig": subconfigs.append})
    return config, subconfigs


def _bytes(spec) -> int:
    """A memory value as KubeSpawner reads it: JupyterHub's ByteSpecification (G = 1024**3)."""
    from jupyterhub.traitlets import ByteSpecification

    class Limit(HasTraits):
        value = ByteSpecification()

    return Limit(value=spec).value


def _command(text: str, program: str) -> list[str]:
    """The first shell command in ``text`` starting with ``program``, continuation lines joined."""
    match = re.search(rf"^{re.escape(program)} (?:.*\\\n)*.*$", text, re.M)
    assert match, f"README must show the `{program}` command"
    return shlex.split(match.group(0).replace("\\\n", " "))


def _options(argv: list[str]) -> dict[str, list[str]]:
    """``--flag value`` / ``--flag`` pairs of a command line (flags without a value map to [])."""
    options: dict[str, list[str]] = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--"):
            value = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") else None
            options.setdefault(arg, []).extend([] if value is None else [value])
    return options


def _exports(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^export (\w+)=([^\s$]\S*)", text, re.M)}


def _build_command() -> list[str]:
    return _command(_readme(), "repo2docker")


def _helm_command() -> list[str]:
    return _command(_readme(), "helm upgrade --install")


def _set_strings(argv: list[str]) -> dict[str, str]:
    return dict(v.split("=", 1) for v in _options(argv).get("--set-string", []))


# --- the files -----------------------------------------------------------------------------

def test_every_yaml_file_parses():
    files = sorted(K8S.glob("*.yaml")) + sorted(K8S.glob("*.yml"))
    assert {f.name for f in files} >= {"config.yaml", "exchange-pvc.yaml"}
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert docs and all(isinstance(d, dict) for d in docs), f"{path.name}: not a YAML mapping"


def _check_keys(value, spec, where: str) -> list[str]:
    if spec is ANY:
        return []
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping"]
        errors = []
        for key, child in value.items():
            if key not in spec and "*" not in spec:
                errors.append(f"{where}.{key}: not a z2jh key this config relies on")
            else:
                errors += _check_keys(child, spec.get(key, spec.get("*")), f"{where}.{key}")
        return errors
    ok = isinstance(value, spec) and not (isinstance(value, bool) and spec in (int, NUMBER))
    return [] if ok else [f"{where}: {value!r} is not {spec}"]


def test_values_use_only_z2jh_keys_with_the_schema_types():
    values = _values()
    errors = _check_keys(values, Z2JH_KEYS, "values")
    assert not errors, "\n".join(errors)
    # The schema's rule for each extra file: an absolute mountPath and exactly one content field.
    for name, spec in values["singleuser"]["extraFiles"].items():
        assert spec["mountPath"].startswith("/"), name
        assert sum(k in spec for k in ("data", "stringData", "binaryData")) == 1, name
        if "data" in spec:  # rendered by the chart according to the file name's extension
            assert spec["mountPath"].endswith((".json", ".yaml", ".yml", ".toml")), name


def test_hub_config_names_real_traitlets():
    from jupyterhub.app import JupyterHub
    from jupyterhub.auth import Authenticator
    from jupyterhub.spawner import Spawner

    hub = _values()["hub"]["config"]
    assert set(hub) <= {"JupyterHub", "Authenticator", "KubeSpawner"}, \
        "a new hub.config section (another authenticator?): extend this test to check it"
    for cls in (JupyterHub, Authenticator):
        unknown = set(hub[cls.__name__]) - set(cls.class_trait_names(config=True))
        assert not unknown, f"hub.config.{cls.__name__}: not configurable: {unknown}"
    spawner_traits = set(Spawner.class_trait_names(config=True)) | KUBESPAWNER_TRAITS
    assert set(hub["KubeSpawner"]) <= spawner_traits
    groups, override = _instructor_override(_values())
    assert set(override) <= spawner_traits

    # Loaded by the real classes: the authenticator name resolves, the values validate.
    config = Config(hub)
    app = JupyterHub(config=config)
    assert app.authenticator_class.__name__ == "SharedPasswordAuthenticator"
    instructors = set(Authenticator(config=config).admin_users)
    assert instructors
    # The override applies to exactly the instructors: its groups are loaded, holding the admins.
    assert set(groups) <= set(app.load_groups)
    assert all(set(app.load_groups[g]) == instructors for g in groups)
    spawner = Spawner(config=Config({"Spawner": {k: v for k, v in hub["KubeSpawner"].items()
                                                 if k not in KUBESPAWNER_TRAITS}}))
    for key, value in override.items():
        if key not in KUBESPAWNER_TRAITS:
            setattr(spawner, key, value)  # raises TraitError on a bad value


def test_values_hold_no_secrets():
    def walk(node, path=""):
        if isinstance(node, dict):
            for key, child in node.items():
                yield from walk(child, f"{path}.{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                yield from walk(child, f"{path}[{i}]")
        else:
            yield path, node

    secret = re.compile(r"password|secret|token|api_key", re.I)
    leaked = [p for p, v in walk(_values()) if secret.search(p.rsplit(".", 1)[-1]) and v]
    assert not leaked, f"set these at install time (--set-string), not in config.yaml: {leaked}"
    # ...and the README's install command sets the passwords the authenticator needs.
    from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

    sets = _set_strings(_helm_command())
    for trait in ("user_password", "admin_password"):
        assert trait in SharedPasswordAuthenticator.class_trait_names(config=True)
        assert f"hub.config.SharedPasswordAuthenticator.{trait}" in sets


# --- budgets -------------------------------------------------------------------------------

def test_learner_limits_are_genlabs_budget():
    from genlab.course.execute import GUARD_MB

    single = _values()["singleuser"]
    assert single["cpu"]["limit"] == 1, "1 CPU per learner, as on Binder"
    # "2G", not "2Gi": KubeSpawner's ByteSpecification reads G as 1024**3 and rejects "Gi".
    assert single["memory"]["limit"] == "2G"
    limit = _bytes(single["memory"]["limit"])
    assert limit == 2 * 1024**3
    assert limit >= GUARD_MB * 1024**2, "a notebook within genlab's CI guard must fit the pod"
    assert 0 < single["cpu"]["guarantee"] <= single["cpu"]["limit"]
    assert 0 < _bytes(single["memory"]["guarantee"]) <= limit
    # Instructors get at least a learner's budget.
    _, override = _instructor_override(_values())
    assert override["cpu_limit"] >= single["cpu"]["limit"]
    assert _bytes(override["mem_limit"]) >= limit
    with pytest.raises(TraitError, match="2Gi is not a valid memory specification"):
        _bytes("2Gi")


def test_readme_sizing_table_matches_the_values():
    values = _values()
    single, (_, override) = values["singleuser"], _instructor_override(values)
    rows = {m.group(1): [c.strip() for c in m.group(2).split("|")]
            for m in re.finditer(r"^\| (learner|instructor) \|(.*)\|\s*$", _readme(), re.M)}
    assert rows.get("learner") == [str(single["cpu"]["guarantee"]), str(single["cpu"]["limit"]),
                                   single["memory"]["guarantee"], single["memory"]["limit"]]
    assert rows.get("instructor") == [str(single["cpu"]["guarantee"]), str(override["cpu_limit"]),
                                      single["memory"]["guarantee"], override["mem_limit"]]


# --- nbgrader's exchange -------------------------------------------------------------------

def test_exchange_volume_is_the_shared_pvc_at_nbgraders_exchange_root():
    from jupyter_core.paths import SYSTEM_CONFIG_PATH

    values, pvc = _values(), _pvc()
    storage = values["singleuser"]["storage"]
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert "ReadWriteMany" in pvc["spec"]["accessModes"], "every user's pod mounts it at once"
    (volume,) = [v for v in storage["extraVolumes"]
                 if v.get("persistentVolumeClaim", {}).get("claimName") == pvc["metadata"]["name"]]
    (mount,) = [m for m in storage["extraVolumeMounts"] if m["name"] == volume["name"]]
    assert not mount.get("readOnly") and not mount.get("subPath")

    # The config every pod gets: in a folder nbgrader reads, with the mount as Exchange.root.
    nbconfig = _extra_file(values, "/etc/jupyter/nbgrader_config.py")
    assert str(Path(nbconfig["mountPath"]).parent) in SYSTEM_CONFIG_PATH
    config, _ = _exec_nbgrader_config(nbconfig["stringData"])
    assert config.Exchange.root == mount["mountPath"]
    repo_config, _ = _exec_nbgrader_config((ROOT / "nbgrader_config.py").read_text())
    assert config.CourseDirectory.course_id == repo_config.CourseDirectory.course_id == "genlab"
    # No student id setting: in jovyan pods nbgrader takes it from JUPYTERHUB_USER.
    assert "student_id" not in nbconfig["stringData"]


def test_exchange_root_is_made_world_writable_before_servers_start():
    values = _values()
    (volume,) = values["singleuser"]["storage"]["extraVolumes"]
    (mount,) = values["singleuser"]["storage"]["extraVolumeMounts"]
    inits = [c for c in values["singleuser"]["initContainers"]
             if any(m["name"] == volume["name"] for m in c.get("volumeMounts", []))]
    assert len(inits) == 1, "one init container prepares the exchange"
    init = inits[0]
    assert init["securityContext"]["runAsUser"] == 0, "the volume is root-owned when new"
    assert {"name": volume["name"], "mountPath": mount["mountPath"]} in init["volumeMounts"]
    script = " ".join(init["command"])
    assert re.search(rf"chmod 0?777 {re.escape(mount['mountPath'])}(\s|;|$)", script)
    # Only the root: nbgrader sets inbound/outbound modes itself (inbound 2733).
    assert not re.search(r"chmod\s+(-\w*R|--recursive)", script)
    assert re.fullmatch(r"[\w./-]+:[\w.-]+", init["image"]), "pin the init image's tag"


# --- learners and instructors --------------------------------------------------------------

def _postbuild_disables() -> tuple[list[str], list[str]]:
    """The lab plugins and server extensions binder/postBuild switches off for learners."""
    text = (ROOT / "binder" / "postBuild").read_text()
    loop = re.search(r"for plugin in ([^;]+); do\s*\n\s*jupyter labextension disable "
                     r"--level=sys-prefix \"([^\"$]+)\$plugin\"", text)
    assert loop, "binder/postBuild: the labextension loop changed; update this test"
    lab = [loop.group(2) + p for p in loop.group(1).split()]
    server = re.findall(r"jupyter server extension disable --sys-prefix (\S+)", text)
    assert lab and server
    return lab, server


def _effective_extensions(monkeypatch, config_path: list[Path]) -> tuple[dict, dict]:
    """What jupyter_server and JupyterLab enable for a server with this JUPYTER_CONFIG_PATH."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyterlab_server.config import get_static_page_config

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", os.pathsep.join(map(str, config_path)))
    server = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()
    lab = get_static_page_config(level="all").get("disabledExtensions", {})
    return server, lab


def test_instructor_overlay_switches_on_what_postbuild_switches_off(tmp_path, monkeypatch):
    values = _values()
    _, override = _instructor_override(values)
    overlay_dir = override["environment"]["JUPYTER_CONFIG_PATH"]
    lab_off, server_off = _postbuild_disables()

    # The image's sys-prefix settings, written the way `jupyter ... disable` writes them.
    image = tmp_path / "image-sys-prefix"
    (image / "labconfig").mkdir(parents=True)
    (image / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {name: True for name in lab_off}}))
    (image / "jupyter_server_config.d").mkdir()
    for name in server_off:
        (image / "jupyter_server_config.d" / f"{name}.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {name: False}}}))
    # The overlay, as the chart mounts it from singleuser.extraFiles.
    overlay = tmp_path / "overlay"
    files = [f for f in values["singleuser"]["extraFiles"].values()
             if f["mountPath"].startswith(overlay_dir + "/")]
    assert files, f"singleuser.extraFiles must fill {overlay_dir}"
    for spec in files:
        path = overlay / Path(spec["mountPath"]).relative_to(overlay_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(spec["data"]) if "data" in spec else spec["stringData"])

    learner_server, learner_lab = _effective_extensions(monkeypatch, [image])
    assert all(learner_server.get(name) is False for name in server_off)
    assert all(learner_lab.get(name) is True for name in lab_off)
    instructor_server, instructor_lab = _effective_extensions(monkeypatch, [overlay, image])
    assert all(instructor_server.get(name) is True for name in server_off)
    assert not any(instructor_lab.get(name) for name in lab_off)


def test_instructor_course_folder_is_persistent_and_consistent(tmp_path):
    values = _values()
    _, override = _instructor_override(values)
    overlay_dir = override["environment"]["JUPYTER_CONFIG_PATH"]
    text = _extra_file(values, f"{overlay_dir}/nbgrader_config.py")["stringData"]
    config, subconfigs = _exec_nbgrader_config(text)
    course = config.CourseDirectory.root
    assert course.startswith(HOME + "/"), "the course folder lives on the instructor's home volume"
    assert override["environment"]["GENLAB_ROOT"] == course
    assert subconfigs == [f"{course}/nbgrader_config.py"], "the course's own nbgrader settings"
    # nbgrader's real loader copes with the course folder not being there yet (first start).
    (tmp_path / "nbgrader_config.py").write_text(text)
    assert PyFileConfigLoader("nbgrader_config.py", str(tmp_path)).load_config() \
        .CourseDirectory.root == course
    # The first start copies the image's repo there: the folder --target-repo-dir put it in.
    shell, flag, seed = override["lifecycle_hooks"]["postStart"]["exec"]["command"]
    assert (shell, flag) == ("sh", "-c")
    repo_dir = _options(_build_command())["--target-repo-dir"][0]
    assert f"cp -a {repo_dir} " in seed and re.search(rf"mv \S+ {re.escape(course)}\b", seed)
    assert seed.startswith(f"[ -e {course} ] ||"), "never overwrite an existing course folder"
    # Everyone starts in the persistent home, not in the image's repo folder.
    assert values["hub"]["config"]["KubeSpawner"]["working_dir"] == HOME
    assert values["singleuser"]["defaultUrl"] == "/lab"


# --- the image -----------------------------------------------------------------------------

def test_readme_build_command_matches_the_values(tmp_path):
    values = _values()
    image = values["singleuser"]["image"]
    argv = _build_command()
    options = _options(argv)
    known = set(re.findall(r"--[\w-]+", subprocess.run(
        [str(REPO2DOCKER), "--help"], capture_output=True, text=True, check=True).stdout))
    assert set(options) <= known, f"not repo2docker flags: {set(options) - known}"

    # The image the build names is the image the chart pulls, tagged with the same $TAG.
    exports = _exports(_readme())
    assert exports.get("IMAGE") == image["name"] and image["name"].rsplit("/", 1)[-1] == "genlab"
    (name_tag,) = options["--image-name"]
    repo, tag_var = name_tag.split(":")
    assert repo == "$IMAGE" and tag_var.startswith("$")
    helm = _helm_command()
    assert _set_strings(helm)["singleuser.image.tag"] == tag_var
    assert _options(helm)["--values"] == ["deploy/k8s/config.yaml"]
    # The user the chart runs (uid, and jovyan for nbgrader's JUPYTERHUB_USER rule).
    assert options["--user-name"] == ["jovyan"]
    assert options["--user-id"] == [str(values["singleuser"]["uid"])]
    # The repo (and genlab's editable install) outside the home volume, which would hide it.
    (repo_dir,) = options["--target-repo-dir"]
    assert repo_dir.startswith("/") and not (repo_dir + "/").startswith(HOME + "/")

    # The documented flags, offline: repo2docker accepts them and its Dockerfile copies the repo
    # into REPO_DIR (the build arg --target-repo-dir sets) and runs postBuild there.
    # (tests/test_environment.py checks binder/environment.yml and postBuild are used at all.)
    assert argv[-1] == ".", "build from the repository root"
    flags = [a.replace("$IMAGE", image["name"]).replace(tag_var, "test") for a in argv[1:-1]]
    proc = subprocess.run([str(REPO2DOCKER), "--no-build", *flags, str(ROOT)],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, HOME=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    dockerfile = proc.stdout
    workdir = dockerfile.find("WORKDIR ${REPO_DIR}")
    assert "ARG REPO_DIR" in dockerfile and 0 <= workdir < dockerfile.find("RUN ./binder/postBuild")
    assert re.search(r"^COPY --chown=\d+:\d+ src/ \$\{REPO_DIR\}/$", dockerfile, re.M)


def test_image_serves_the_chart_default_command():
    """z2jh starts `jupyterhub-singleuser`; repo2docker's base environment provides it."""
    from importlib.util import find_spec

    assert "cmd" not in _values()["singleuser"]
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    (python,) = [d.split("=")[1] for d in env["dependencies"]
                 if isinstance(d, str) and d.startswith("python=")]
    (package,) = find_spec("repo2docker").submodule_search_locations
    lock = Path(package) / "buildpacks" / "conda" / f"environment.py-{python}-linux-64.lock"
    assert re.search(r"/jupyterhub-singleuser-5\.", lock.read_text()), \
        "the image needs jupyterhub-singleuser 5.x for the chart's JupyterHub 5"


def test_install_commands_share_namespace_and_a_4x_chart():
    readme = _readme()
    helm = _options(_helm_command())
    (version,) = helm["--version"]
    major, minor = (int(x) for x in version.split(".")[:2])
    # shared-password (JupyterHub 5.3) needs chart 4.2.0 or later; 5.x is another major.
    assert major == 4 and minor >= 2
    apply = _command(readme, "kubectl apply")
    assert "deploy/k8s/exchange-pvc.yaml" in apply
    assert _options(apply)["--namespace"] == helm["--namespace"], \
        "the PVC must be in the namespace of the hub and the user pods"


# --- the README ----------------------------------------------------------------------------

def _strings(node):
    if isinstance(node, dict):
        for child in node.values():
            yield from _strings(child)
    elif isinstance(node, list):
        for child in node:
            yield from _strings(child)
    elif isinstance(node, str):
        yield node


def test_readme_lists_every_placeholder():
    placeholders = {value for path in K8S.glob("*.yaml")
                    for doc in yaml.safe_load_all(path.read_text())
                    for value in _strings(doc) if "change-me" in value}
    assert placeholders
    section = _readme().split("## Placeholders", 1)
    assert len(section) == 2, "README needs a Placeholders section"
    table = section[1].split("\n## ", 1)[0]
    missing = [p for p in sorted(placeholders) if f"`{p}`" not in table]
    assert not missing, f"README Placeholders misses: {missing}"


def test_readme_says_what_was_tested_and_what_was_not():
    readme = _readme()
    match = re.search(r"^## What was tested and what was not\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, "README needs the section 'What was tested and what was not'"
    section = match.group(1).lower()
    assert "tests/test_deploy.py" in section and "--no-build" in section
    for untested in ("no kubernetes cluster", "helm", "docker", "authenticator", "readwritemany"):
        assert untested in section, f"say plainly: {untested}"


# --- Kubernetes objects, against the API schemas kubernetes-validate ships (offline) ------

def test_kubernetes_objects_validate_strictly():
    import kubernetes_validate as kv
    version = "1.32.0"
    kv.validate(_pvc(), version, strict=True)
    # The k8s-native pieces of the values, in the pod KubeSpawner would build from them.
    values = _values()
    single = values["singleuser"]
    _, override = _instructor_override(values)
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "jupyter-instructor"},
        "spec": {
            "initContainers": single["initContainers"],
            "containers": [{
                "name": "notebook",
                "image": f"{single['image']['name']}:{single['image']['tag']}",
                "volumeMounts": single["storage"]["extraVolumeMounts"],
                "lifecycle": override["lifecycle_hooks"],
            }],
            "volumes": single["storage"]["extraVolumes"],
        },
    }
    kv.validate(pod, version, strict=True)
