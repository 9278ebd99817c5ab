"""whisper.cpp through pywhispercpp: the C/C++ port, on the CPU here; on Metal (Apple) or CUDA
where the installed wheel was built with that backend.

It reads a ggml model file (``ggml-model.bin``, converted from the transformers snapshot:
float16 matrices, float32 vectors) and runs ``whisper_full``: one 30 s window at a time, each
continued from its last timestamp (whisper.cpp's own port of openai-whisper's sequential seek),
with the comparable settings: greedy (``best_of`` 1) or beam search, temperature 0 with no
fallback (``temperature_inc`` 0), no conditioning on the previous window (``no_context``), no
no-speech skipping, English for ``.en`` models, and the same CPU thread count as every other
engine (``devices.engine_cpu_threads``). The wheel's backends are read from whisper.cpp's own
system information; the PyPI wheel for Linux x86-64 has the CPU only (AVX2, F16C, FMA,
OpenMP).

``pywhispercpp`` is imported only when an instance is made.
"""

from __future__ import annotations

import platform
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from whisperbench.devices import device_among, engine_cpu_threads
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations.base import (
    ImplementationOptions,
    ModelInfo,
    Segment,
    TranscriptionResult,
    WhisperImplementation,
    missing_package,
)
from whisperbench.implementations.reported import ignored_options, weights_params

MODEL_FILE = "ggml-model.bin"
CHUNK_LENGTH_S = 30
INSTALL_HINT = "pip install 'whisperbench[whisper-cpp]'  (or: pip install pywhispercpp)"
LONG_FORM = "sequential 30 s windows, each continued from its last timestamp (whisper_full)"
GPU_BACKENDS = {"mps": "Metal", "cuda": "CUDA"}
"""Our device names and the ggml backend that runs whisper.cpp on them."""
FILE_TYPES = {0: "float32", 1: "float16"}
"""ggml file types that are not quantised; others are ggml quantisations (q4_0, q5_1, ...)."""
NO_SPEECH_OFF = 1.0
"""A no-speech probability never exceeds 1: no window is dropped as silence."""
IGNORED = {
    "batch_size": "whisper.cpp decodes one window at a time",
    "dtype": "it computes in the ggml file's types (float16 matrices here)",
    "quantization": "it would need a quantised ggml file",
    "vad": "its VAD needs a separate Silero ggml model, which whisperbench does not provide",
}


def system_info() -> str:
    """whisper.cpp's own line of compiled-in backends and CPU features."""
    import _pywhispercpp

    return str(_pywhispercpp.whisper_print_system_info())


def wheel_devices(info: str, apple_silicon: bool = False) -> tuple[str, ...]:
    """The devices this build of whisper.cpp may run on, from its system information (a backend
    with features shows as ``CUDA : ...``; the CPU is always there). Builds for Apple Silicon
    enable Metal by default, and Metal need not list features there, so on Apple Silicon
    ``mps`` is assumed; the load's own log line then says which backend really runs."""
    gpus = [device for device, backend in GPU_BACKENDS.items() if f"{backend} :" in info]
    if apple_silicon and "mps" not in gpus:
        gpus.append("mps")
    return (*gpus, "cpu")


def on_apple_silicon() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def backend_in_log(log: str) -> str | None:
    """The backend whisper.cpp chose, from its load log: ``using Metal backend`` -> mps,
    ``using CUDA0 backend`` -> cuda, ``no GPU found`` -> cpu; None when it did not say (the
    GPU was not asked for)."""
    if "whisper_backend_init_gpu: no GPU found" in log:
        return "cpu"
    match = re.search(r"whisper_backend_init_gpu: using (\w+) backend", log)
    if match is None:
        return None
    name = match.group(1)
    return next(
        (device for device, backend in GPU_BACKENDS.items() if name.startswith(backend)),
        name.lower(),
    )


def decode_params(
    info: ModelInfo, options: ImplementationOptions, threads: int
) -> tuple[int, dict[str, Any]]:
    """pywhispercpp's sampling strategy (0 greedy, 1 beam search) and ``whisper_full`` params."""
    language = "en" if info.english_only else (options.language or "auto")
    params: dict[str, Any] = {
        "n_threads": threads,
        "language": language,
        "translate": False,
        "no_context": True,
        "no_timestamps": False,
        "temperature": 0.0,
        "temperature_inc": 0.0,
        "no_speech_thold": NO_SPEECH_OFF,
        "print_progress": False,
        "print_realtime": False,
        "print_timestamps": False,
    }
    if options.beam_size > 1:
        params["beam_search"] = {"beam_size": options.beam_size, "patience": -1.0}
        return 1, params
    params["greedy"] = {"best_of": 1}
    return 0, params


class WhisperCpp(WhisperImplementation):
    """``pywhispercpp.model.Model`` on a ggml file."""

    name = "whisper.cpp"
    weights_format = "ggml"
    package = "pywhispercpp"
    supported_devices = ("cuda", "mps", "cpu")
    """As far as the installed wheel has the backend (checked when an instance is made)."""

    model: Any = None
    backend_device: str = "cpu"
    """The device whisper.cpp's load log says it runs on."""
    batch_size: int = 1
    chunk_length_s: int = CHUNK_LENGTH_S

    @classmethod
    def device_request(cls, requested: str) -> str:
        """``auto``: the best device that this build of whisper.cpp has a backend for."""
        return device_among(requested, wheel_devices(system_info(), on_apple_silicon()))

    @classmethod
    def unsupported_device_reason(cls, device: str) -> str | None:
        reason = super().unsupported_device_reason(device)
        info = system_info()
        if reason is None and device not in wheel_devices(info, on_apple_silicon()):
            reason = (
                f"this pywhispercpp build has no {GPU_BACKENDS.get(device, device)} backend "
                f"(whisper.cpp reports: {info.strip()}); use --device cpu"
            )
        return reason

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return missing_package(
            ("pywhispercpp", "_pywhispercpp"), INSTALL_HINT, package="pywhispercpp"
        )

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        from pywhispercpp.model import Model

        # The converted folder, or the size's file of whisper.cpp's own repo.
        file = snapshot if snapshot.is_file() else snapshot / MODEL_FILE
        if not file.is_file():  # whisper.cpp only logs a missing file
            raise FileNotFoundError(f"whisper.cpp model file {file} does not exist")
        strategy, params = decode_params(info, self.options, engine_cpu_threads())
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "whisper.cpp.log"  # its load log says which backend runs
            self.model = Model(
                str(file),
                params_sampling_strategy=strategy,
                redirect_whispercpp_logs_to=str(log),
                context_params={"use_gpu": self.device != "cpu"},
                **params,
            )
            chosen = backend_in_log(log.read_text(errors="replace")) if log.exists() else None
        self.backend_device = chosen or "cpu"
        if self.backend_device != self.device:
            self.model = None
            raise ImplementationUnavailableError(
                f"whisper.cpp was asked for {self.device} but runs on {self.backend_device} "
                "(its load log); use --device cpu"
            )

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        info = self.require_loaded()
        segments = self.model.transcribe(np.ascontiguousarray(audio, dtype=np.float32))
        parts = [Segment(seg.t0 / 100, seg.t1 / 100, seg.text.strip()) for seg in segments]
        return TranscriptionResult(
            text=" ".join(part.text for part in parts if part.text),
            language=self._language(info),
            segments=parts,
        )

    def _language(self, info: ModelInfo) -> str | None:
        """The language whisper.cpp decoded in (detected when it was ``auto``)."""
        if info.english_only or self.options.language:
            return "en" if info.english_only else self.options.language
        import _pywhispercpp

        return str(_pywhispercpp.whisper_lang_str(_pywhispercpp.whisper_full_lang_id(self._ctx)))

    @property
    def _ctx(self) -> Any:
        return self.model._ctx  # pywhispercpp keeps the whisper_context here

    def get_params(self) -> dict[str, Any]:
        import _pywhispercpp

        info = self.require_loaded()
        params = self.model.get_params()
        context = self.model._context_params
        beam = params["beam_search"]["beam_size"] if params["strategy"] == 1 else 1
        file_type = int(_pywhispercpp.whisper_model_ftype(self._ctx))
        file_dtype = FILE_TYPES.get(file_type, f"ggml type {file_type}")
        return {
            **weights_params(self, info),
            "device": self.backend_device,
            "backends": system_info().strip(),
            "dtype": file_dtype,
            "attention": "flash" if context.flash_attn else "ggml",
            "quantization": "none" if file_type in FILE_TYPES else file_dtype,
            "batch_size": self.batch_size,
            "chunk_length_s": self.chunk_length_s,
            "long_form": LONG_FORM,
            "beam_size": beam,
            "decoder": f"beam search ({beam})" if beam > 1 else "greedy",
            "temperature": params["temperature"],
            "temperature_fallback": params["temperature_inc"] > 0,
            "condition_on_previous_text": not params["no_context"],
            "timestamps": not params["no_timestamps"],
            "threads": params["n_threads"],
            "task": None if info.english_only else "transcribe",
            "language": params["language"],
            "vad": bool(params["vad"]),
            **ignored_options(self.name, self.options, IGNORED),
        }

    def cleanup(self) -> None:
        self.model = None
        super().cleanup()
