"""scripts/bench_gpu.py's utilisation reading (the throughput itself is a benchmark, not a test)."""

import sys
import time

import torch

from scripts.bench_gpu import GpuMonitor, utilisation_reader


def _fake_nvidia_smi(tmp_path, monkeypatch, output: str) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\necho '{output}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises: the nvidia-smi fallback is used


def test_utilisation_falls_back_to_nvidia_smi(tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path, monkeypatch, "73")
    read = utilisation_reader(0)
    assert read is not None and read() == 73


def test_no_reader_when_nvidia_smi_prints_no_number(tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path, monkeypatch, "No devices were found")
    assert utilisation_reader(0) is None


def test_monitor_averages_the_samples_inside_the_window(tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path, monkeypatch, "40")
    monitor = GpuMonitor(torch.device("cuda", 0), interval=0.01)  # only the reader needs the device: no CUDA used
    with monitor:
        start = time.time()
        time.sleep(0.3)
        end = time.time()
    assert monitor.samples and monitor.mean(start, end) == 40
    assert monitor.mean(end + 10, end + 20) is None
    assert GpuMonitor(torch.device("cpu")).mean(0, end) is None  # never samples on the CPU
