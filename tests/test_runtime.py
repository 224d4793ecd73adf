import time

import pytest
import torch

from genlab import runtime
from genlab.runtime import Budget, cache_dir, get_device, seed_everything, smoke_mode


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_smoke_mode_follows_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("GENLAB_SMOKE", value)
    assert smoke_mode() is expected


def test_smoke_mode_defaults_to_full(monkeypatch):
    monkeypatch.delenv("GENLAB_SMOKE", raising=False)
    assert smoke_mode() is False


def test_get_device_prefers_cuda_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected
    assert get_device("cpu").type == "cpu"


def test_get_device_rejects_bad_requests():
    with pytest.raises(ValueError, match="prefer"):
        get_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            get_device("cuda")


def test_seed_everything_makes_runs_repeatable():
    seed_everything(3)
    a = torch.randn(5)
    g = seed_everything(3)
    assert torch.equal(a, torch.randn(5))
    assert torch.equal(torch.randn(5, generator=g), torch.randn(5, generator=seed_everything(3)))
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        seed_everything(-1)


def test_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_budget_is_spent_after_its_time():
    budget = Budget(0.05)
    assert not budget.spent and budget.remaining > 0
    time.sleep(0.06)
    assert budget.spent and budget.remaining == 0
    assert Budget(None).remaining == float("inf")
    with pytest.raises(ValueError, match="a budget must be positive seconds or None, got 0"):
        Budget(0)


def test_cached_state_builds_once_with_gradients_and_reads_back(tmp_path, monkeypatch):
    from genlab.runtime import cached_state

    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path))
    calls = []

    def build():
        calls.append(torch.is_grad_enabled())
        torch.manual_seed(0)
        return torch.nn.Linear(3, 2)

    with torch.no_grad():  # as when a metric builds its model on first use
        first = cached_state("tiny.pt", build)
    second = cached_state("tiny.pt", build)
    assert calls == [True]  # built once, with gradients on
    assert (tmp_path / "tiny.pt").exists() and not list(tmp_path.glob("*.tmp"))
    assert all(torch.equal(first[k], second[k]) for k in first)


# ---------------------------------------------------------------- the thread policy, on fake cgroup files

V2_MOUNT = "30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTS = ("31 24 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
             "32 24 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")


def _fake(tmp_path, cgroup: str, mountinfo: str, files: dict[str, str]):
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text(cgroup)
    (tmp_path / "proc/self/mountinfo").write_text(mountinfo)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_cgroup_v2_quota_as_on_binder(tmp_path):
    root = _fake(tmp_path, "0::/user.slice/binder\n", V2_MOUNT,
                 {"sys/fs/cgroup/cpu.max": "max 100000\n",
                  "sys/fs/cgroup/user.slice/cpu.max": "max 100000\n",
                  "sys/fs/cgroup/user.slice/binder/cpu.max": "100000 100000\n"})
    assert runtime.cpu_quota(root) == 1.0


def test_cgroup_v2_the_tightest_ancestor_wins(tmp_path):
    root = _fake(tmp_path, "0::/kubepods/pod1/c1\n", V2_MOUNT,
                 {"sys/fs/cgroup/kubepods/pod1/cpu.max": "50000 100000\n",
                  "sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000\n"})
    assert runtime.cpu_quota(root) == 0.5


def test_cgroup_v2_unlimited_is_none(tmp_path):
    root = _fake(tmp_path, "0::/\n", V2_MOUNT, {"sys/fs/cgroup/cpu.max": "max 100000\n"})
    assert runtime.cpu_quota(root) is None


def test_cgroup_v1_quota_and_period(tmp_path):
    root = _fake(tmp_path, "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n", V1_MOUNTS,
                 {"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000\n",
                  "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
                  "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
                  "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"})
    assert runtime.cpu_quota(root) == 1.5


def test_cgroup_v1_unlimited_is_none(tmp_path):
    root = _fake(tmp_path, "3:cpu,cpuacct:/\n", V1_MOUNTS,
                 {"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
                  "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"})
    assert runtime.cpu_quota(root) is None


def test_cgroup_namespace_reads_the_mount_itself(tmp_path):
    """Inside a container the path names the host's cgroup, which is mounted as the root."""
    root = _fake(tmp_path, "0::/system.slice/docker-1.scope\n", V2_MOUNT,
                 {"sys/fs/cgroup/cpu.max": "200000 100000\n"})
    assert runtime.cpu_quota(root) == 2.0


def test_no_proc_means_no_quota(tmp_path):
    assert runtime.cpu_quota(tmp_path) is None


def test_usable_cpus_is_capped_by_the_quota(monkeypatch):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(runtime, "cpu_quota", lambda root="/": 1.5)
    assert runtime.usable_cpus() == 1
    monkeypatch.setattr(runtime, "cpu_quota", lambda root="/": 0.25)
    assert runtime.usable_cpus() == 1
    monkeypatch.setattr(runtime, "cpu_quota", lambda root="/": None)
    assert runtime.usable_cpus() == 4


@pytest.mark.parametrize("cpus, threads", [(1, 1), (2, 1), (3, 2), (5, 4), (64, runtime.MAX_THREADS)])
def test_thread_policy_leaves_one_cpu_free(monkeypatch, cpus, threads):
    monkeypatch.delenv("GENLAB_THREADS", raising=False)
    assert runtime.thread_policy(cpus) == threads


def test_thread_policy_override_and_bad_values(monkeypatch):
    monkeypatch.setenv("GENLAB_THREADS", "3")
    assert runtime.thread_policy(2) == 3
    monkeypatch.setenv("GENLAB_THREADS", "two")
    with pytest.raises(ValueError, match="GENLAB_THREADS"):
        runtime.thread_policy(2)
    monkeypatch.delenv("GENLAB_THREADS")
    with pytest.raises(ValueError, match="cpus must be a positive int"):
        runtime.thread_policy(0)


def test_setup_applies_the_policy_and_seeds(monkeypatch, capsys):
    monkeypatch.delenv("GENLAB_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        device, generator = runtime.setup(5, "cpu")
        assert torch.get_num_threads() == runtime.thread_policy()
        assert device.type == "cpu"
        assert torch.equal(torch.randn(3, generator=generator), torch.randn(3, generator=seed_everything(5)))
        assert f"torch threads: {runtime.thread_policy()}" in capsys.readouterr().out
        with pytest.raises(ValueError, match="positive int"):
            runtime.use_threads(0)
    finally:
        torch.set_num_threads(before)


def test_use_threads_sets_faiss_too_once_it_is_imported():
    faiss = pytest.importorskip("faiss")
    before, faiss_before = torch.get_num_threads(), faiss.omp_get_max_threads()
    try:
        for n in (1, 2):
            runtime.use_threads(n)
            assert torch.get_num_threads() == n and faiss.omp_get_max_threads() == n
    finally:
        torch.set_num_threads(before)
        faiss.omp_set_num_threads(faiss_before)


def _build_slowly(marker: str) -> torch.nn.Module:
    with open(marker, "a") as f:
        f.write("built\n")
    time.sleep(1.0)
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def _read_cache(cache: str, marker: str) -> None:
    import functools
    import os

    from genlab.runtime import cached_state
    os.environ["GENLAB_CACHE_DIR"] = cache
    cached_state("shared.pt", functools.partial(_build_slowly, marker))


def test_cached_state_is_built_once_when_processes_race(tmp_path):
    """Two processes asking at once: one builds, the other waits on the lock and reads."""
    import multiprocessing

    marker = tmp_path / "builds.txt"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_read_cache, args=(str(tmp_path / "cache"), str(marker))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert marker.read_text() == "built\n"
