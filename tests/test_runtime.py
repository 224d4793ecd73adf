import time

import pytest
import torch

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
    with pytest.raises(ValueError):
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
    with pytest.raises(ValueError):
        Budget(0)


def test_one_thread_restores_the_setting():
    from genlab.runtime import one_thread
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


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
    assert (tmp_path / "tiny.pt").exists() and not (tmp_path / "tiny.tmp").exists()
    assert all(torch.equal(first[k], second[k]) for k in first)
