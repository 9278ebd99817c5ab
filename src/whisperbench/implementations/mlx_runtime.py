"""What the MLX engines share (mlx-whisper, lightning-whisper-mlx, whisper-mps): MLX's device,
the dtype the weights are cast to, and reading both back off the loaded model.

MLX runs on Metal on Apple Silicon (our device name ``mps``: the Apple GPU) and on the CPU
elsewhere. Its Linux CPU wheel (``mlx[cpu]``) links the reference BLAS and takes no thread
count, which is why it is far slower there than every other engine; on a Mac it uses Metal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from whisperbench.devices import (
    DeviceMemory,
    DeviceMemoryMeter,
    DeviceName,
    UnmeasuredDeviceMemory,
    dtype_name,
    resolve_dtype,
)
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations.base import ImplementationOptions, missing_package

__all__ = [
    "CPU_THREADS_NOTE",
    "MLX_DEVICES",
    "MLX_MEMORY_MEASURE",
    "MlxMemoryMeter",
    "cast_parameters",
    "mlx_dtype",
    "mlx_memory_meter",
    "mlx_missing",
    "parameter_dtype",
    "quantization_of",
    "refuse_beam_search",
    "use_device",
]

MLX_DEVICES: tuple[DeviceName, ...] = ("mps", "cpu")
"""Metal on Apple Silicon (``mps``), else the CPU."""
CPU_THREADS_NOTE = "MLX's CPU backend takes no thread count (the Linux wheel: reference BLAS)"
_MLX_HINT = "pip install 'mlx[cpu]' on Linux; pip install mlx on Apple Silicon"


@cache
def _mlx_import_error() -> str | None:
    missing = missing_package(("mlx",), _MLX_HINT)
    if missing is not None:
        return missing
    try:
        import mlx.core  # noqa: F401  (the wheel without a backend fails here)
    except ImportError as exc:
        return f"mlx is installed but cannot load a backend ({exc}); {_MLX_HINT}"
    return None


def mlx_missing(module: str, install_hint: str) -> str | None:
    """Why an MLX engine whose package provides ``module`` cannot run here, or None."""
    return missing_package((module,), install_hint) or _mlx_import_error()


MLX_MEMORY_MEASURE = (
    "peak of MLX's allocator during the case (mx.get_peak_memory, reset at its start): the "
    "Metal buffers of MLX's arrays on the Apple GPU, its buffer cache left out"
)
"""What ``MlxMemoryMeter`` measures: torch's MPS counters never see MLX's memory."""


@dataclass(frozen=True)
class MlxMemoryMeter:
    """MLX's own allocator counters: the peak of its active memory over the case, the active
    memory at its start as the baseline (the loaded weights)."""

    measure: str = MLX_MEMORY_MEASURE

    def start(self) -> int | None:
        import mlx.core as mx

        mx.reset_peak_memory()
        return int(mx.get_active_memory())

    def finish(self, baseline_bytes: int | None) -> DeviceMemory | None:
        import mlx.core as mx

        if baseline_bytes is None:
            return None
        return DeviceMemory(self.measure, int(mx.get_peak_memory()), baseline_bytes)


def mlx_memory_meter(mlx_device: str | None) -> DeviceMemoryMeter:
    """The meter of an MLX engine on the device MLX reports (``use_device``): MLX's allocator
    on the Apple GPU (``gpu``); on its CPU backend MLX's arrays are host memory, which the
    case's peak RSS counts, so no device figure (and before a load, none either)."""
    if mlx_device == "gpu":
        return MlxMemoryMeter()
    return UnmeasuredDeviceMemory()


def use_device(device: str) -> str:
    """Make ``device`` MLX's default; the device as MLX reports it (``gpu`` or ``cpu``)."""
    import mlx.core as mx

    mx.set_default_device(mx.gpu if device == "mps" else mx.cpu)
    return str(mx.default_device().type.name)


def mlx_dtype(device: str, requested: str | None) -> tuple[str, str | None]:
    """``float16`` or ``float32`` (what these engines' ``fp16`` flag chooses between), and why
    a request was changed. By default float16 on Metal and float32 on the CPU."""
    name = dtype_name(resolve_dtype(device, requested))
    if name in ("float16", "float32"):
        return name, None
    return "float32", f"the MLX Whisper engines compute in float16 or float32; {name} requested"


def cast_parameters(model: Any, dtype: str) -> None:
    """Cast every parameter of an MLX model to ``dtype`` in place (the converted weights are
    float32, as the transformers snapshot holds them)."""
    import mlx.core as mx
    from mlx.utils import tree_map

    target = getattr(mx, dtype)

    def cast(array: Any) -> Any:  # quantised weights and their scales keep their types
        return array.astype(target) if mx.issubdtype(array.dtype, mx.floating) else array

    model.update(tree_map(cast, model.parameters()))
    mx.eval(model.parameters())


def parameter_dtype(model: Any) -> str:
    """The dtype of the model's weights, as MLX reports it."""
    from mlx.utils import tree_flatten

    first: Any = next(iter(tree_flatten(model.parameters())))[1]
    return str(first.dtype).removeprefix("mlx.core.")


def quantization_of(model: Any) -> str:
    """The quantisation the loaded MLX model carries, read off its layers: ``none``, or what
    its ``QuantizedLinear`` / ``QuantizedEmbedding`` layers hold, such as
    ``4bit (MLX affine, group 64)`` (an ``mlx-community`` 4- or 8-bit folder, quantised by the
    loader as its ``config.json`` says)."""
    import mlx.nn

    nn: Any = mlx.nn
    kinds = sorted(
        {
            (int(layer.bits), int(layer.group_size), str(getattr(layer, "mode", "affine")))
            for _, layer in model.named_modules()
            if isinstance(layer, nn.QuantizedLinear | nn.QuantizedEmbedding)
        }
    )
    if not kinds:
        return "none"
    return ", ".join(f"{bits}bit (MLX {mode}, group {group})" for bits, group, mode in kinds)


def refuse_beam_search(engine: str, options: ImplementationOptions) -> None:
    """The MLX Whisper decoders are greedy only (their ``DecodingTask`` raises
    ``NotImplementedError`` for a beam size): a beam search request cannot run."""
    if options.beam_size > 1:
        raise ImplementationUnavailableError(
            f"{engine} has no beam search (its decoder is greedy only); "
            f"--beam-size {options.beam_size} cannot run, use --beam-size 1"
        )
