"""transformers -> openai-whisper checkpoint, on the real bundled tiny.en and base: the converted
model's logits on the first window equal the transformers model's.

Both models are float32 and get the same log-mel and the same decoder tokens, so they differ
only in the order of floating-point operations: every logit within 1e-3 (seen: about 2e-5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.conversion_inputs import first_window

from whisperbench.weights.convert.hf_to_openai import write_openai_checkpoint
from whisperbench.weights.formats import OPENAI_CHECKPOINT

pytestmark = pytest.mark.slow
whisper = pytest.importorskip("whisper", reason="openai-whisper is not installed")
LOGIT_TOLERANCE = 1e-3


@pytest.mark.parametrize("size", ["tiny.en", "base"])
def test_first_window_logits_match_transformers(
    size: str, offline_models: dict[tuple[str, str], object], tmp_path: Path
) -> None:
    snapshot = offline_models[(size, "transformers")].snapshot_path  # type: ignore[attr-defined]
    out = tmp_path / "openai"
    write_openai_checkpoint(snapshot, out)
    assert sorted(p.name for p in out.iterdir()) == [OPENAI_CHECKPOINT]
    model = whisper.load_model(str(out / OPENAI_CHECKPOINT), device="cpu")
    window = first_window(snapshot)
    with torch.inference_mode():
        mel = torch.from_numpy(window.mel)[None]
        logits = model(mel, torch.tensor([window.prompt]))[0].numpy()
    assert logits.shape == window.logits.shape
    assert np.abs(logits - window.logits).max() < LOGIT_TOLERANCE
    assert (logits[-1 - len(window.text_tokens) : -1].argmax(-1) == window.text_tokens).all()


def test_an_existing_folder_is_not_overwritten(
    offline_models: dict[tuple[str, str], object], tmp_path: Path
) -> None:
    snapshot = offline_models[("tiny.en", "transformers")].snapshot_path  # type: ignore[attr-defined]
    with pytest.raises(FileExistsError):
        write_openai_checkpoint(snapshot, tmp_path)
