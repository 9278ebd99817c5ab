"""A real, tiny engine that needs no weights, for tests and for plugin authors' tests (as
httpx ships ``MockTransport``).

``FakeWhisper`` follows the whole ``WhisperImplementation`` interface: it loads (nothing) for a
size of the model map, transcribes 16 kHz float32 audio by calling a *handler*, and reports
``get_params()`` for what it really does. The suite runs it like any engine, so cases,
``extra_info``, histories, tables and regression checks can be driven in milliseconds:

```python
from whisperbench.implementations.fake import FakeWhisper, saying

engine = FakeWhisper(handler=saying("the quick brown fox"))
engine.load(None, engine.get_model_info("tiny.en"))
engine.transcribe(samples).text  # "the quick brown fox"
```

A handler is any ``Callable[[np.ndarray], TranscriptionResult]``. The default,
``words_from_audio``, derives a transcript from the samples themselves (one word per second,
picked by a hash of that second), so the same audio always gives the same text. It is
registered as ``fake`` (``--implementations fake``), runs only when named and needs no model
files (``needs_weights = False``), so the suite skips the cache checks for it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from whisperbench.implementations.base import (
    ImplementationOptions,
    ModelInfo,
    Segment,
    TranscriptionResult,
    WhisperImplementation,
)

SAMPLE_RATE = 16_000
CHUNK_LENGTH_S = 30

Handler = Callable[[np.ndarray], TranscriptionResult]
"""What the fake engine does with the audio: samples in, a transcription out."""

WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
)


def words_from_audio(audio: np.ndarray) -> TranscriptionResult:
    """One word per started second of audio, chosen by a hash of that second's samples: the
    same audio always gives the same words, different audio (almost always) others."""
    samples = np.ascontiguousarray(audio, dtype=np.float32)
    segments = []
    for start in range(0, len(samples), SAMPLE_RATE):
        second = samples[start : start + SAMPLE_RATE]
        digest = hashlib.blake2b(second.tobytes(), digest_size=4).digest()
        word = WORDS[int.from_bytes(digest, "little") % len(WORDS)]
        begin = start / SAMPLE_RATE
        segments.append(Segment(begin, begin + len(second) / SAMPLE_RATE, word))
    return TranscriptionResult(" ".join(s.text for s in segments), "en", segments)


def saying(text: str, language: str | None = "en") -> Handler:
    """A handler that transcribes any audio as ``text`` (a test supplies what was "heard")."""

    def handler(audio: np.ndarray) -> TranscriptionResult:
        duration = len(audio) / SAMPLE_RATE
        return TranscriptionResult(text, language, [Segment(0.0, duration, text)])

    handler.__name__ = "saying"
    return handler


class FakeWhisper(WhisperImplementation):
    """An engine that transcribes through its handler and loads no weights."""

    name = "fake"
    family = "transformers"
    package = "whisperbench"
    needs_weights = False  # no files: the suite skips the cache checks and imports
    takes_batch_size = True
    memory_for_batches: ClassVar[int | None] = None
    """The largest batch size the fake engine's memory holds: above it, ``transcribe`` raises
    ``MemoryError`` as an allocation that does not fit does (None: any batch fits). Tests of
    the batch sweep set it (``with_memory_for``)."""
    default_handler: ClassVar[Handler | None] = None
    """The handler of instances made without one (None: ``words_from_audio``)."""

    def __init__(
        self, options: ImplementationOptions | None = None, handler: Handler | None = None
    ) -> None:
        super().__init__(options)
        self.handler: Handler = handler or type(self).default_handler or words_from_audio
        self.calls = 0
        """How many times ``transcribe`` ran (tests count cold, warm-up and timed calls)."""

    @classmethod
    def with_handler(cls, handler: Handler) -> type[FakeWhisper]:
        """A subclass whose instances use ``handler``: for code that creates engines by class
        (the registry, an entry point), where no handler can be passed."""
        name = f"{cls.__name__}_{getattr(handler, '__name__', 'handler')}"
        return type(name, (cls,), {"default_handler": staticmethod(handler)})

    @classmethod
    def with_memory_for(cls, batches: int) -> type[FakeWhisper]:
        """A subclass whose memory holds at most ``batches`` windows at once."""
        return type(f"{cls.__name__}_{batches}", (cls,), {"memory_for_batches": batches})

    def load(self, snapshot: Path | None, info: ModelInfo) -> None:
        """Nothing to read: the model map's record is remembered."""
        super().load(snapshot, info)
        self.batch_size = self.options.batch_size or 1

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        self.model_info = info

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        self.require_loaded()
        self.calls += 1
        limit = type(self).memory_for_batches
        if limit is not None and (self.batch_size or 1) > limit:
            raise MemoryError(
                f"fake engine: batch {self.batch_size} does not fit (memory for {limit})"
            )
        start = time.perf_counter()
        result = self.handler(np.asarray(audio, dtype=np.float32))
        result.timings.setdefault("handler", time.perf_counter() - start)
        return result

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        quantization = self.options.quantization
        return {
            "implementation": self.name,
            "model": info.size,
            "repo_id": None,
            "weights": "none",
            "device": self.device,
            "dtype": "float32",
            "attention": None,
            "quantization": "none",
            "quantization_note": None
            if quantization == "none"
            else f"the fake engine has no quantised mode; {quantization} was not applied",
            "batch_size": self.batch_size,
            "chunk_length_s": CHUNK_LENGTH_S,
            "beam_size": self.options.beam_size,
            "decoder": f"fake ({getattr(self.handler, '__name__', 'handler')})",
            "task": None,
            "language": self.options.language,
            "vad": False,
        }
