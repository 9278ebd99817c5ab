"""The seed's recipe: mac-whisper-speedtest's ``InsanelyFastWhisperImplementation``, with the
settings its users' numbers came from, so that those numbers can be reproduced here (with
warm-up, the median of timed rounds, WER and saved runs on top).

- **Pipeline:** the transformers ASR pipeline in float16 on every device (the seed loads
  ``torch_dtype=float16`` on the CPU too), SDPA attention, ``use_cache=True``,
  ``low_cpu_mem_usage=True`` (``TransformersReference`` builds it; ``--dtype`` overrides).
- **Call:** ``chunk_length_s=20`` on MPS and 30 elsewhere, ``return_timestamps=False``,
  ``return_language=True``, ``generate_kwargs={"task": "transcribe"}``: the pipeline's
  overlapping windows (a sixth of the chunk on each side) merged by its token matching.
- **4-bit:** always requested, with the seed's ``BitsAndBytesConfig`` (nf4, double
  quantisation, float16 compute); applied only where ``decide_quantization`` says bitsandbytes
  can run, otherwise the model runs unquantised and ``quantization_note`` says why. Never on a
  Mac (``seed_quantization``): the seed ran unquantised there (its ``insanely.py``: "bitsandbytes
  is not supported on macOS, so 4-bit quantization will be skipped on Apple Silicon"; its own
  check found the model in float16), though bitsandbytes 0.50 has MPS 4-bit kernels.
- **Batch size:** the seed's table over ``psutil.virtual_memory().available``, read before
  the load (``seed_batch_size``).
- **MPS allocator:** torch's default high watermark (1.7 x the recommended working set: past
  it unified memory pages rather than failing), which the seed never changed; whisperbench's
  session limit of 1.0 would make the seed's batch of 16 at 4-8 GB available fail out of memory
  on a small Mac where the seed paged. The engine sets torch's ratio while it is loaded and
  gives the session's back when released (``mps_watermark``; ``PYTORCH_MPS_HIGH_WATERMARK_RATIO``
  still wins), and ``params.mps_watermark`` says which limit it ran under.

Two things cannot be exactly the seed's, and the parameters say so:

- transformers refuses ``task`` for an English-only (``.en``) model ("Cannot specify `task`
  or `language` for an English-only model", a ValueError from ``generate``); such a model
  transcribes English without a task token, which is what it is sent here (``task: None``).
  The seed's own model map has no ``.en`` sizes.
- the seed wrote each clip to a temporary 16-bit WAV and let the pipeline decode it with
  ffmpeg, inside its timing; here the samples go to the pipeline as they are, with no ffmpeg.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from whisperbench import mps
from whisperbench.devices import available_memory_bytes, resolve_dtype
from whisperbench.implementations.base import ModelInfo, Segment, TranscriptionResult
from whisperbench.implementations.transformers_pipeline import (
    QuantizationDecision,
    TransformersReference,
    decide_quantization,
    four_bit_installed,
)

GB = 2**30
"""The seed divides ``available`` by 1024**3 and calls it GB."""
SEED_MPS_BATCHES = ((32, 16), (16, 12), (8, 10), (4, 16))
"""(at least this many GB available, batch size) on macOS/MPS, first match wins."""
SEED_MPS_LEAST = 12
"""Below 4 GB available on MPS."""
SEED_OTHER_BATCHES = ((16, 24), (8, 16))
"""Everywhere else (the seed ran on the CPU off macOS)."""
SEED_OTHER_LEAST = 8
SEED_MPS_CHUNK_S = 20
SEED_CHUNK_S = 30
SEED_4BIT = {
    "load_in_4bit": True,
    "bnb_4bit_compute_dtype": torch.float16,
    "bnb_4bit_use_double_quant": True,
    "bnb_4bit_quant_type": "nf4",
}
SEED_TASK = "transcribe"
"""What the seed sends as ``generate_kwargs`` (``TransformersReference._prompt_kwargs``)."""
SEED_RECIPE = "mac-whisper-speedtest InsanelyFastWhisperImplementation"
SEED_MPS_4BIT_NOTE = (
    "4-bit requested, as the seed requests it, but not applied on mps: the seed ran "
    "unquantised on Apple Silicon (its note: bitsandbytes is not supported on macOS, so 4-bit "
    "quantization will be skipped; its own check found float16), so its recipe does here too "
    "(bitsandbytes 0.50 does register MPS 4-bit kernels)"
)


def seed_batch_size(device: str, available_bytes: int) -> int:
    """The seed's batch size for ``available_bytes`` of available system memory."""
    available_gb = available_bytes / GB
    table, least = (
        (SEED_MPS_BATCHES, SEED_MPS_LEAST)
        if device == "mps"
        else (SEED_OTHER_BATCHES, SEED_OTHER_LEAST)
    )
    for threshold_gb, batch in table:
        if available_gb >= threshold_gb:
            return batch
    return least


def seed_quantization(
    requested: str, device: str, bitsandbytes_installed: bool
) -> QuantizationDecision:
    """The seed's 4-bit as it ran: never on MPS, where the seed ran unquantised; elsewhere
    where bitsandbytes runs (``decide_quantization``)."""
    if requested == "4bit" and device == "mps":
        return QuantizationDecision("none", SEED_MPS_4BIT_NOTE)
    return decide_quantization(requested, device, bitsandbytes_installed)


def seed_chunk_length_s(device: str) -> int:
    """20 s windows on MPS (the seed's memory saving), 30 s elsewhere."""
    return SEED_MPS_CHUNK_S if device == "mps" else SEED_CHUNK_S


def language_code(name: str | None) -> str | None:
    """The pipeline's language name (``"english"``) as a code (``"en"``)."""
    if not name:
        return None
    from transformers.models.whisper.tokenization_whisper import TO_LANGUAGE_CODE

    return TO_LANGUAGE_CODE.get(name.lower(), name)


class InsanelyFastWhisper(TransformersReference):
    """The seed's ``InsanelyFastWhisperImplementation`` recipe (see the module's notes)."""

    name = "insanely-fast-whisper"
    yardstick = True
    mps_watermark = mps.TORCH_DEFAULT
    available_memory_bytes: int = 0
    """``psutil.virtual_memory().available`` when the batch size was chosen."""

    def load_dtype(self) -> torch.dtype:
        """float16 on every device, as the seed loads it; ``--dtype`` overrides."""
        if self.options.dtype in (None, "auto"):
            return torch.float16
        return resolve_dtype(self.device, self.options.dtype)

    def requested_quantization(self) -> str:
        """The seed always asks for 4-bit; ``--quantization int8`` asks for int8 instead."""
        return "4bit" if self.options.quantization == "none" else self.options.quantization

    def quantization_decision(self) -> QuantizationDecision:
        return seed_quantization(self.requested_quantization(), self.device, four_bit_installed())

    def bits_and_bytes_options(self, dtype: torch.dtype) -> dict[str, Any]:
        return dict(SEED_4BIT)

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        self.available_memory_bytes = available_memory_bytes()
        self.pipe = self._build_pipeline(info, snapshot)
        self.batch_size = self.options.batch_size or seed_batch_size(
            self.device, self.available_memory_bytes
        )
        self.chunk_length_s = seed_chunk_length_s(self.device)

    @property
    def timestamps(self) -> bool:
        return False

    def _generate_kwargs(self, info: ModelInfo) -> dict[str, Any]:
        """``{"task": "transcribe"}`` as the seed sends it, but nothing for an English-only
        model (transformers refuses a task there); a language, beams or synthetic token counts
        only when asked for."""
        kwargs = self._prompt_kwargs(info)
        if self.options.beam_size != 1:
            kwargs["num_beams"] = self.options.beam_size
        return kwargs

    def _call_options(self) -> dict[str, Any]:
        return {**super()._call_options(), "return_language": True}

    def _result(self, info: ModelInfo, output: dict[str, Any]) -> TranscriptionResult:
        """The text, the language the pipeline returned (``return_language``) and its chunks,
        for ``transcribe`` and ``transcribe_batch`` alike."""
        chunks = output.get("chunks") or []
        detected = next((language_code(c["language"]) for c in chunks if c.get("language")), None)
        language = "en" if self.english_prompt(info) else detected or self.options.language
        return TranscriptionResult(
            text=str(output["text"]).strip(),
            language=language,
            segments=[Segment(None, None, str(chunk["text"]).strip()) for chunk in chunks],
        )

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        params = super().get_params()
        params.update(
            {
                "recipe": SEED_RECIPE,
                "return_timestamps": False,
                "return_language": True,
                "task_requested": SEED_TASK,
                "task_note": (
                    "English-only model: transformers refuses a task for it, so none is sent"
                    if self.english_prompt(info)
                    else None
                ),
                "quantization_requested": self.requested_quantization(),
                "available_memory_gb": round(self.available_memory_bytes / GB, 1),
                "batch_size_rule": (
                    "--batch-sweep"
                    if self.batch_size_at_load is not None
                    else "--batch-size"
                    if self.options.batch_size
                    else f"seed table ({'mps' if self.device == 'mps' else 'other'} rows) "
                    f"over {self.available_memory_bytes / GB:.1f} GB available"
                ),
                "long_form": "pipeline windows with overlap, merged by tokens",
                "audio_input": "samples (the seed wrote a 16-bit WAV and decoded it with ffmpeg)",
            }
        )
        return params
