"""Device choice without a GPU: auto, torchrun's LOCAL_RANK, and int8 refused on CUDA before CUDA is touched."""
from __future__ import annotations

import pytest
import torch

from fieldasr.device import DeviceError, resolve_device


def pretend_gpus(monkeypatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_auto_is_cuda_when_there_is_one_else_cpu(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    pretend_gpus(monkeypatch, 0)
    assert resolve_device("auto") == "cpu"
    pretend_gpus(monkeypatch, 2)
    assert resolve_device("auto") == "cuda:0"
    assert resolve_device("auto", precision="int8") == "cpu"  # dynamic quantisation runs on the CPU only


@pytest.mark.parametrize(("requested", "gpus", "local_rank", "expected"), [
    ("cuda", 4, "2", "cuda:2"),
    ("cuda:0", 4, "3", "cuda:3"),  # under torchrun the process's GPU wins, or every rank would land on GPU 0
    ("auto", 4, "1", "cuda:1"),
    ("cuda", 1, "1", "cuda:0"),  # one visible GPU per process (CUDA_VISIBLE_DEVICES set per task)
    ("cpu", 4, "1", "cpu"),
])
def test_each_torchrun_process_takes_the_gpu_of_its_local_rank(monkeypatch, requested, gpus, local_rank, expected):
    pretend_gpus(monkeypatch, gpus)
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    assert resolve_device(requested) == expected


def test_a_gpu_that_is_not_there_is_refused(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    pretend_gpus(monkeypatch, 2)
    with pytest.raises(DeviceError, match="cuda:5 does not exist"):
        resolve_device("cuda:5")
    pretend_gpus(monkeypatch, 0)
    with pytest.raises(DeviceError, match="no CUDA device"):
        resolve_device("cuda")


def test_int8_on_cuda_is_refused_before_cuda_is_asked(monkeypatch):
    def touched() -> bool:
        raise AssertionError("CUDA was queried before the refusal")

    monkeypatch.setattr(torch.cuda, "is_available", touched)
    monkeypatch.setattr(torch.cuda, "device_count", touched)
    with pytest.raises(DeviceError, match="int8 runs on the CPU only"):
        resolve_device("cuda", precision="int8")
