"""transformers snapshot -> openai-whisper checkpoint.

``write_openai_checkpoint(source, out)`` writes ``out/model.pt``, the file ``whisper.load_model``
reads: ``torch.save({"dims": ..., "model_state_dict": ...})`` with openai-whisper's names
(``openai_layout``). The tensors keep the snapshot's dtype (float32 for ``openai/whisper-*``);
openai-whisper casts weights to the input's dtype as it runs, so ``fp16`` is its own choice.
"""

from __future__ import annotations

from pathlib import Path

import torch

from whisperbench.weights.convert import Conversion, openai_layout
from whisperbench.weights.convert.openai_layout import read_openai_model
from whisperbench.weights.formats import OPENAI_CHECKPOINT

__all__ = ["CONVERSION", "write_openai_checkpoint"]


def write_openai_checkpoint(source: Path, out: Path) -> None:
    """Create the folder ``out`` holding ``model.pt``, converted from the transformers snapshot
    folder ``source``."""
    model = read_openai_model(source)
    out.mkdir(parents=True)
    torch.save({"dims": model.dims, "model_state_dict": model.state_dict}, out / OPENAI_CHECKPOINT)


CONVERSION = Conversion(
    "transformers", "openai", write_openai_checkpoint, uses=(openai_layout.__name__,)
)
