"""Device, dtype, chunk and batch decisions, for every branch including MPS (unit-tested by
their decisions: no Mac runs these tests)."""

from __future__ import annotations

import pytest
import torch

from whisperbench.devices import (
    DevicePresence,
    default_dtype,
    machine_facts,
    memory_info,
    resolve_device,
    resolve_dtype,
    synchronize,
)
from whisperbench.errors import DeviceOutOfMemoryError, DeviceUnavailableError
from whisperbench.implementations.transformers_pipeline import (
    attention_bytes,
    choose_batch_size,
    decide_quantization,
    window_bytes,
)
from whisperbench.models import get_model

GiB = 2**30
CUDA_MAC_CPU = DevicePresence(cuda=True, mps=False)
MAC = DevicePresence(cuda=False, mps=True)
CPU_ONLY = DevicePresence(cuda=False, mps=False)


@pytest.mark.parametrize(
    ("presence", "expected"), [(CUDA_MAC_CPU, "cuda"), (MAC, "mps"), (CPU_ONLY, "cpu")]
)
def test_auto_prefers_cuda_then_mps_then_cpu(presence: DevicePresence, expected: str) -> None:
    assert resolve_device("auto", presence) == expected


def test_explicit_devices() -> None:
    assert resolve_device("mps", MAC) == "mps"
    assert resolve_device("cuda:0", CUDA_MAC_CPU) == "cuda"
    assert resolve_device("cpu", MAC) == "cpu"


@pytest.mark.parametrize(("device", "presence"), [("mps", CPU_ONLY), ("cuda", MAC)])
def test_absent_device_is_a_clear_error(device: str, presence: DevicePresence) -> None:
    with pytest.raises(DeviceUnavailableError, match=f"'{device}' was asked for"):
        resolve_device(device, presence)


def test_unknown_device_lists_choices() -> None:
    with pytest.raises(DeviceUnavailableError, match="auto, cuda, mps, cpu"):
        resolve_device("tpu", CPU_ONLY)


def test_dtypes() -> None:
    assert default_dtype("mps") == torch.float16
    assert default_dtype("cuda") == torch.float16
    assert default_dtype("cpu") == torch.float32
    assert resolve_dtype("mps", "float32") == torch.float32
    assert resolve_dtype("cpu", "bf16") == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("cpu", "int3")


def test_mps_batch_size_follows_the_window_cost_like_cuda() -> None:
    """Half the free working set over one window's cost, at most 64, and no floor of 8: an
    8 GB Mac's few free GiB hold only a few large-v3 windows."""
    large, tiny = get_model("large-v3").architecture, get_model("tiny.en").architecture
    per_window = window_bytes(large, 2, "mps")
    assert choose_batch_size("mps", 4 * per_window, large, 2) == 2
    assert choose_batch_size("mps", 2 * GiB, large, 2) == GiB // per_window
    assert choose_batch_size("mps", 16 * GiB, tiny, 2) == 64
    assert choose_batch_size("mps", 8 * GiB, tiny, 2) == 42  # 102 MB a window, scores included
    assert choose_batch_size("mps", 2 * GiB, large, 2) < choose_batch_size("mps", 8 * GiB, large, 2)


@pytest.mark.parametrize(
    ("size", "dtype_bytes", "scores_mb"),
    [("tiny.en", 2, 54 + 27), ("tiny.en", 4, 54 + 54), ("large-v3", 2, 180 + 90)],
)
def test_the_mps_window_budget_holds_the_encoders_attention_matrix(
    size: str, dtype_bytes: int, scores_mb: int
) -> None:
    """MPS's SDPA (its MPSGraph path) holds [heads, 1500, 1500] float32 scores and the weights in
    the model's dtype for each window of the batch, encoded at once: for tiny in float16 81 MB
    more than the 21 MB of caches and activations that CUDA's fused kernels need."""
    arch = get_model(size).architecture
    mps_window = window_bytes(arch, dtype_bytes, "mps")
    cuda_window = window_bytes(arch, dtype_bytes, "cuda")
    assert mps_window - cuda_window == attention_bytes(arch, dtype_bytes) == scores_mb * 10**6
    assert window_bytes(arch, dtype_bytes, "cpu") == cuda_window
    if (size, dtype_bytes) == ("tiny.en", 2):
        assert 20 * 10**6 < cuda_window < 22 * 10**6
    free = 4 * GiB
    assert choose_batch_size("mps", free, arch, dtype_bytes) == min(64, free // 2 // mps_window)


def test_mps_refuses_a_model_whose_one_window_does_not_fit() -> None:
    large = get_model("large-v3").architecture
    with pytest.raises(DeviceOutOfMemoryError) as caught:
        choose_batch_size("mps", window_bytes(large, 2, "mps"), large, 2)
    message = str(caught.value)
    assert "one 30 s window needs about" in message and "MiB on mps" in message
    assert "Fix: a smaller model" in message and "--device cpu" in message


def test_cuda_batch_size_grows_with_free_memory_and_shrinks_with_model_size() -> None:
    large, tiny = get_model("large-v3").architecture, get_model("tiny.en").architecture
    assert choose_batch_size("cuda", 4 * GiB, large, 2) == 8
    big_gpu_large = choose_batch_size("cuda", 70 * GiB, large, 2)
    assert 24 <= big_gpu_large <= 64
    assert choose_batch_size("cuda", 70 * GiB, tiny, 2) == 64
    assert choose_batch_size("cuda", 16 * GiB, large, 2) < big_gpu_large


def test_cpu_batch_size_is_small() -> None:
    assert choose_batch_size("cpu", 20 * GiB, get_model("tiny.en").architecture, 4) <= 8


def test_4bit_only_where_bitsandbytes_really_works() -> None:
    assert decide_quantization("4bit", "cuda", True).applied == "4bit"
    assert decide_quantization("4bit", "cpu", True).applied == "4bit"
    on_mac = decide_quantization("4bit", "mps", True)
    assert on_mac.applied == "none" and on_mac.reason is not None
    assert "bitsandbytes 0.50 registers MPS 4-bit kernels" in on_mac.reason
    assert "no Mac has run" in on_mac.reason
    no_bnb = decide_quantization("4bit", "cuda", False)
    assert no_bnb.applied == "none" and "not installed" in (no_bnb.reason or "")
    assert decide_quantization("none", "cpu", False).reason is None
    with pytest.raises(ValueError, match="unknown quantization"):
        decide_quantization("3bit", "cuda", True)


def test_cpu_probes_on_this_machine() -> None:
    synchronize("cpu")
    info = memory_info("cpu")
    assert 0 < info.free_bytes <= info.total_bytes
    facts = machine_facts()
    assert facts["cuda_available"] is False
    assert (
        facts["versions"]["torch"] == torch.__version__.split("+")[0] or facts["versions"]["torch"]
    )
    assert facts["ram_gb"] > 0


def test_int8_only_on_the_cpu() -> None:
    assert decide_quantization("int8", "cpu", False).applied == "int8"
    on_gpu = decide_quantization("int8", "cuda", True)
    assert on_gpu.applied == "none" and "CPU only" in (on_gpu.reason or "")


def test_an_allocation_failure_names_the_work_the_batch_and_the_fix() -> None:
    from whisperbench.devices import explain_out_of_memory
    from whisperbench.errors import DeviceOutOfMemoryError

    work = explain_out_of_memory("transformers large-v3 on long", "cpu", 8)
    with pytest.raises(DeviceOutOfMemoryError) as err, work:
        torch.empty(2**50, dtype=torch.uint8)  # a real allocation this machine refuses
    message = str(err.value)
    assert "transformers large-v3 on long ran out of cpu memory at batch size 8" in message
    assert "Fix: --batch-size 4 or a smaller model" in message


def test_other_runtime_errors_pass_through() -> None:
    from whisperbench.devices import explain_out_of_memory

    with pytest.raises(RuntimeError, match="shape"), explain_out_of_memory("x", "cpu", 8):
        torch.zeros(2, 3) @ torch.zeros(2, 3)
