"""whisper-mps: an early MLX port of openai-whisper (from Apple's mlx-examples), packaged for
Macs; on MLX's CPU backend elsewhere.

Its loader takes only openai's model names and downloads openai's checkpoints itself (checked
against their SHA-256), so the engine reads the openai-whisper checkpoint converted from the
transformers snapshot (``model.pt``), builds whisper-mps's own PyTorch model from it, converts
that to MLX with whisper-mps's ``torch_to_mlx``, and hands the result to its model cache under
this folder's path, where its ``transcribe`` finds it. Transcription is openai-whisper's
sequential seek with the comparable settings of ``openai_style``; greedy only.

The package also requires moviepy and pytube, which only its command line uses (video files and
YouTube downloads); ``pip install --no-deps whisper-mps`` leaves them out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from whisperbench.implementations.mlx_whisper import MLXWhisper
from whisperbench.weights.formats import OPENAI_CHECKPOINT

CHECKPOINT = OPENAI_CHECKPOINT
"""The file it reads, as the ``openai`` format declares it."""


class WhisperMPS(MLXWhisper):
    """``whisper_mps.whisper.transcribe`` on a model built from an openai-whisper checkpoint."""

    name = "whisper-mps"
    weights_format = "openai"
    package = "whisper-mps"
    packages = ("whisper-mps", "mlx")
    extra = "whisper-mps"
    library: ClassVar[str] = "whisper_mps.whisper.transcribe"

    def _load_model(self, snapshot: Path) -> Any:
        import mlx.core as mx
        import torch
        from whisper_mps.whisper import load_models, torch_whisper

        checkpoint = torch.load(snapshot / CHECKPOINT, map_location="cpu", weights_only=True)
        torch_model = torch_whisper.Whisper(torch_whisper.ModelDimensions(**checkpoint["dims"]))
        torch_model.load_state_dict(checkpoint["model_state_dict"])
        model = load_models.torch_to_mlx(torch_model, getattr(mx, self.dtype))
        holder = self._module().ModelHolder
        holder.model, holder.model_name = model, self.path
        return model

    def _run(self, audio: np.ndarray, kwargs: dict[str, Any]) -> dict[str, Any]:
        output: dict[str, Any] = self._module().transcribe(audio, model=self.path, **kwargs)
        return output
