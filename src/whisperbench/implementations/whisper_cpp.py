"""whisper.cpp through pywhispercpp: the C/C++ port, on the CPU here; on Metal (Apple) or CUDA
where the installed wheel was built with that backend.

It reads a ggml model file (``ggml-model.bin``, converted from the transformers snapshot:
float16 matrices, float32 vectors) and runs ``whisper_full``: one 30 s window at a time, each
continued from its last timestamp (whisper.cpp's own port of openai-whisper's sequential seek),
with the comparable settings: greedy (``best_of`` 1) or beam search, temperature 0 with no
fallback (``temperature_inc`` 0), no conditioning on the previous window (``no_context``), no
no-speech skipping, English for ``.en`` models, and the same CPU thread count as every other
engine (``devices.engine_cpu_threads``). The wheel's backends are read from whisper.cpp's own
system information (``wheel_devices``); the PyPI wheel for Linux x86-64 has the CPU only (AVX2,
F16C, FMA, OpenMP), and pywhispercpp's macOS arm64 wheels are built with ggml's defaults, which
turn Metal on. After the load, its log says which backend really runs (``backend_in_log``), and
``load_outcome`` decides what that means: a skip with the reason when a named ``--device`` is
not the one it runs on, a note in the parameters when ``--device auto`` runs it below the best
device here.

``pywhispercpp`` is imported only when an instance is made.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from whisperbench.devices import device_among, engine_cpu_threads, resolve_device
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations.base import (
    FirstText,
    ImplementationOptions,
    ModelInfo,
    Segment,
    TranscriptionResult,
    WhisperImplementation,
    Word,
    missing_package,
)
from whisperbench.implementations.reported import ignored_options, weights_params
from whisperbench.weights.formats import GGML_FILE

MODEL_FILE = GGML_FILE
"""The file it reads, as the ``ggml`` format declares it."""
CHUNK_LENGTH_S = 30
LONG_FORM = "sequential 30 s windows, each continued from its last timestamp (whisper_full)"
GPU_BACKENDS: dict[str, tuple[str, ...]] = {"mps": ("MTL", "Metal"), "cuda": ("CUDA",)}
"""Our device names and the names ggml gives the backend that runs whisper.cpp on them. ggml's
Metal backend registers as ``MTL`` and names its devices ``MTL0``, ``MTL1``, ...
(``ggml-metal.cpp``: ``GGML_METAL_NAME "MTL"``; ``ggml-metal-device.m``: ``"%s%d", "MTL",
device``), as in whisper.cpp 1.8.5, which pywhispercpp 1.5.1 bundles; older ggml said
``Metal``. CUDA's are ``CUDA`` and ``CUDA0``."""
BACKEND_NAMES = {"mps": "Metal", "cuda": "CUDA"}
"""How messages name the backend of each of our GPU devices."""
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


def wheel_devices(info: str) -> tuple[str, ...]:
    """The devices this build of whisper.cpp may run on, from its system information. Since
    ggml's backend registry, ``whisper_print_system_info`` lists every registered backend as
    ``NAME : `` followed by its features, even when it has none (``MTL : EMBED_LIBRARY = 1 |``,
    ``CUDA : ARCHS = 890 |``); builds before it listed flags (``METAL = 1 |``, ``CUDA = 1 |``).
    A build without a GPU backend (pywhispercpp's Linux wheel, or a CPU-only build on a Mac) is
    the CPU alone, which is always there."""
    return (
        *(
            device
            for device, names in GPU_BACKENDS.items()
            if any(_lists_backend(info, name) for name in names)
        ),
        "cpu",
    )


def _lists_backend(info: str, name: str) -> bool:
    label = re.search(rf"(?:^|\|)\s*{name}\s*:", info)
    flag = re.search(rf"\b{name.upper()}\s*=\s*1\b", info)
    return label is not None or flag is not None


def backend_device(name: str) -> str:
    """Our device name for a ggml backend device: ``MTL0`` or ``Metal`` -> mps, ``CUDA0`` ->
    cuda; any other (``Vulkan0``) lowercased, without its index."""
    for device, names in GPU_BACKENDS.items():
        if name.startswith(names):
            return device
    return name.rstrip("0123456789").lower()


def backend_in_log(log: str) -> str | None:
    """The backend whisper.cpp runs on, from its load log (``whisper_backend_init_gpu`` in
    ``src/whisper.cpp``): ``using MTL0 backend`` -> mps, ``using CUDA0 backend`` -> cuda,
    ``no GPU found`` or ``failed to initialize ... backend`` (it then runs on the CPU) -> cpu;
    None when it did not say (the GPU was not asked for)."""
    if re.search(r"whisper_backend_init_gpu: (no GPU found|failed to initialize)", log):
        return "cpu"
    match = re.search(r"whisper_backend_init_gpu: using (\S+) backend", log)
    return None if match is None else backend_device(match.group(1))


def load_outcome(requested: str, asked: str, ran: str, best: str, info: str) -> str | None:
    """What the backend whisper.cpp runs on after a load means for the run. ``requested``:
    ``--device``; ``asked``: the device the engine asked whisper.cpp for; ``ran``: the one its
    load log names (``backend_in_log``, the CPU when it did not say); ``best``: the device
    ``--device auto`` picks on this machine; ``info``: the build's system information.

    A device named with ``--device`` that whisper.cpp does not run on is
    ``ImplementationUnavailableError``: the case skips with the reason (a timed run on another
    device would be mislabelled). Under ``--device auto`` whisper.cpp runs where it can, and
    when that is below the best device here (a CPU-only wheel on a Mac, or a GPU backend that
    failed to start) the note returned says so in the run's parameters; None otherwise."""
    if requested.lower() != "auto":
        if ran == asked:
            return None
        raise ImplementationUnavailableError(
            f"whisper.cpp was asked for {asked} but its load log says it runs on {ran} "
            f"(this pywhispercpp build reports: {info.strip()}); use --device cpu, or install "
            f"a pywhispercpp build whose {BACKEND_NAMES.get(asked, asked)} backend starts"
        )
    if ran == best:
        return None
    why = (
        f"its {BACKEND_NAMES.get(asked, asked)} backend did not start (its load log)"
        if asked != ran
        else f"this pywhispercpp build has no {BACKEND_NAMES.get(best, best)} backend "
        f"(it reports: {info.strip()})"
    )
    return f"whisper.cpp runs on {ran}, not {best}: {why}"


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

    allocates_through_torch = False  # ggml allocates on its own

    name = "whisper.cpp"
    weights_format = "ggml"
    package = "pywhispercpp"
    extra = "whisper-cpp"
    supported_devices = ("cuda", "mps", "cpu")
    """As far as the installed wheel has the backend (checked when an instance is made)."""

    model: Any = None
    backend_device: str = "cpu"
    """The device whisper.cpp's load log says it runs on."""
    device_note: str | None = None
    """Why it runs below the best device here under ``--device auto`` (``load_outcome``)."""
    batch_size: int = 1
    chunk_length_s: int = CHUNK_LENGTH_S

    @classmethod
    def device_request(cls, requested: str) -> str:
        """``auto``: the best device that this build of whisper.cpp has a backend for."""
        return device_among(requested, wheel_devices(system_info()))

    @classmethod
    def unsupported_device_reason(cls, device: str) -> str | None:
        reason = super().unsupported_device_reason(device)
        info = system_info()
        if reason is None and device not in wheel_devices(info):
            reason = (
                f"this pywhispercpp build has no {BACKEND_NAMES.get(device, device)} backend "
                f"(whisper.cpp reports: {info.strip()}); use --device cpu"
            )
        return reason

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return missing_package(
            ("pywhispercpp", "_pywhispercpp"), cls.install_hint, package=cls.package
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
        ran = chosen or "cpu"
        try:
            self.device_note = load_outcome(
                self.options.device, self.device, ran, resolve_device("auto"), system_info()
            )
        except ImplementationUnavailableError:
            self.model = None
            raise
        self.backend_device = ran

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        info = self.require_loaded()
        segments = self.model.transcribe(np.ascontiguousarray(audio, dtype=np.float32))
        parts = [Segment(seg.t0 / 100, seg.t1 / 100, seg.text.strip()) for seg in segments]
        return TranscriptionResult(
            text=" ".join(part.text for part in parts if part.text),
            language=self._language(info),
            segments=parts,
        )

    takes_prompt = True
    WORD_PARAMS: ClassVar[dict[str, Any]] = {
        "token_timestamps": True,
        "max_len": 1,
        "split_on_word": True,
    }
    """whisper.cpp's word timestamps: token times from its alignment, one segment per word."""
    PLAIN_PARAMS: ClassVar[dict[str, Any]] = {
        "token_timestamps": False,
        "max_len": 0,
        "split_on_word": False,
        "initial_prompt": "",
    }
    """What ``transcribe`` runs with (pywhispercpp keeps a call's parameters for the next; an
    empty prompt is no prompt, and its binding refuses None)."""

    def transcribe_words(self, audio: np.ndarray, prompt: str | None = None) -> list[Word]:
        """The buffer through ``whisper_full`` with one segment per word (``max_len`` 1,
        ``split_on_word``, token timestamps) after ``initial_prompt``; the parameters are put
        back afterwards."""
        self.require_loaded()
        samples = np.ascontiguousarray(audio, dtype=np.float32)
        try:
            segments = self.model.transcribe(
                samples, **self.WORD_PARAMS, initial_prompt=prompt or ""
            )
        finally:
            self.model._set_params(self.PLAIN_PARAMS)
        return [
            Word(seg.t0 / 100, seg.t1 / 100, seg.text.strip())
            for seg in segments
            if seg.text.strip()
        ]

    def first_text(self, audio: np.ndarray) -> FirstText:
        """whisper.cpp's new-segment callback: called as each segment is decoded, the first
        one with text is the first text handed out."""
        info = self.require_loaded()
        firsts: list[float] = []

        def on_segment(segment: Any) -> None:
            if not firsts and segment.text.strip():
                firsts.append(time.perf_counter() - start)

        start = time.perf_counter()
        segments = self.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32), new_segment_callback=on_segment
        )
        total = time.perf_counter() - start
        parts = [Segment(seg.t0 / 100, seg.t1 / 100, seg.text.strip()) for seg in segments]
        result = TranscriptionResult(
            text=" ".join(part.text for part in parts if part.text),
            language=self._language(info),
            segments=parts,
        )
        how = "whisper.cpp's new-segment callback, first segment with text"
        return FirstText(firsts[0] if firsts else total, total, how, result, at_end=False)

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
            "device_note": self.device_note,
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
