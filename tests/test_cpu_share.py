"""share_cpu_cores: processes run side by side get their share of the usable cores (a CPU quota counted)."""

import os

import pytest
import torch

import nas_core.training as training
from nas_core.training import share_cpu_cores, usable_cpu_cores


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_a_container_quota_caps_the_usable_cores(tmp_path, monkeypatch):
    cpu_max = tmp_path / "cpu.max"
    monkeypatch.setattr(training, "CGROUP_CPU_MAX", cpu_max)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))  # what the machine shows
    cpu_max.write_text("200000 100000\n")  # two cores' worth of time
    assert usable_cpu_cores() == 2
    cpu_max.write_text("max 100000\n")
    assert usable_cpu_cores() == 64
    cpu_max.unlink()  # no cgroup v2: the affinity alone
    assert usable_cpu_cores() == 64


def test_each_process_gets_its_share_and_never_more_than_torch_allows(monkeypatch, restore_threads):
    monkeypatch.setattr(training, "usable_cpu_cores", lambda: 8)
    torch.set_num_threads(8)
    assert share_cpu_cores(2) == 4 and torch.get_num_threads() == 4
    assert share_cpu_cores(16) == 1  # more processes than cores: one thread each, not zero
    torch.set_num_threads(1)  # OMP_NUM_THREADS=1, say
    assert share_cpu_cores(2) == 1
    with pytest.raises(ValueError, match="processes must be at least 1, got 0"):
        share_cpu_cores(0)


def test_a_spawned_pool_gives_each_worker_its_share(monkeypatch):
    from nas_core.training import spawned_process_pool

    monkeypatch.setenv("OMP_NUM_THREADS", "8")  # the workers would start with 8 threads each
    with spawned_process_pool(2) as pool:
        threads = pool.submit(torch.get_num_threads).result()
    assert threads == max(1, min(8, usable_cpu_cores() // 2))
