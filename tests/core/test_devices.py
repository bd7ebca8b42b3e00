"""Device selection and mixed precision."""

import pytest
import torch

from hpe_core.devices import autocast, resolve_device
from hpe_core.errors import InputError


@pytest.mark.parametrize("spec", ["cpu", "CPU", " cpu ", torch.device("cpu")])
def test_cpu_forms(spec):
    assert resolve_device(spec) == torch.device("cpu")


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("hpe_core.devices._mps_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr("hpe_core.devices._mps_available", lambda: False)
    assert resolve_device() == torch.device("cpu")


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cpu:0", "mps:1", "", "cuda:-1"])
def test_bad_forms_list_the_valid_ones(spec):
    with pytest.raises(InputError, match="valid forms are auto, cpu, cuda, cuda:N, mps"):
        resolve_device(spec)


def test_missing_cuda_device_is_an_input_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="CUDA is not available"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(InputError, match="2 CUDA device"):
        resolve_device("cuda:2")


def test_fp32_autocast_changes_nothing_and_bf16_computes_in_bfloat16():
    a, b = torch.randn(8, 8), torch.randn(8, 8)
    with autocast("cpu", "fp32"):
        assert torch.equal(a @ b, torch.matmul(a, b)) and (a @ b).dtype == torch.float32
    with autocast(torch.device("cpu"), "bf16"):
        assert (a @ b).dtype == torch.bfloat16


def test_unknown_precision_is_an_input_error():
    with pytest.raises(InputError, match="fp32, bf16, fp16"):
        with autocast("cpu", "fp8"):
            pass
