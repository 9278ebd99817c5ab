"""A small third-party whisperbench implementation, installed the way a plugin is: through the
``whisperbench.implementations`` entry-point group, with no change to whisperbench itself.

``echo`` wraps another registered implementation (faster-whisper unless told otherwise) and
hands back its transcripts unchanged, reporting itself under its own name. It shows the whole
interface a plugin fills in: ``name``, ``family``, ``package``, ``supported_devices``,
``unavailable_reason``, ``_load``, ``transcribe``, ``get_params`` and ``cleanup``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from whisperbench.implementations import (
    ImplementationOptions,
    ModelInfo,
    TranscriptionResult,
    WhisperImplementation,
    get_implementation,
)

WRAPPED = "faster-whisper"


class Echo(WhisperImplementation):
    """Transcribes with the ``faster-whisper`` implementation, under the name ``echo``."""

    name = "echo"
    family = "ctranslate2"  # the model map picks the CTranslate2 repo for each size
    package = "whisperbench-echo-plugin"
    supported_devices = ("cuda", "cpu")

    def __init__(self, options: ImplementationOptions | None = None) -> None:
        super().__init__(options)
        self.inner = get_implementation(WRAPPED)(self.options)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = get_implementation(WRAPPED).unavailable_reason()
        return None if reason is None else f"echo wraps {WRAPPED}, which cannot run: {reason}"

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        # whisperbench has already resolved the snapshot of info.repo_id (cache or download).
        inner_info = self.inner.get_model_info(info.size)
        self.inner._load(inner_info, snapshot)
        self.inner.model_info = inner_info

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        self.require_loaded()
        return self.inner.transcribe(audio)

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        params = self.inner.get_params()
        params.update(implementation=self.name, model=info.size, wraps=WRAPPED)
        return params

    def cleanup(self) -> None:
        self.inner.cleanup()
        super().cleanup()
