"""transformers -> MLX Whisper folder, on the real bundled tiny.en: the converted model's logits
on the first window equal the transformers model's.

Both are float32 with the same log-mel and decoder tokens; MLX's CPU kernels sum in another
order: every logit within 1e-3 (seen: 1.2e-4 on tiny.en, 3.5e-4 on base). Only tiny.en runs
here: MLX's CPU backend on Linux takes 16 s for one tiny.en window and 35 s for base (it links
the reference BLAS), and the name mapping is the same for every size (``test_openai_layout``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.conversion_inputs import first_window

from whisperbench.weights.convert.hf_to_mlx import write_mlx_model
from whisperbench.weights.convert.openai_layout import openai_dims
from whisperbench.weights.formats import MLX_CONFIG, MLX_WEIGHTS

pytestmark = pytest.mark.slow
pytest.importorskip("mlx_whisper", reason="mlx-whisper is not installed")
LOGIT_TOLERANCE = 1e-3


def test_first_window_logits_match_transformers(
    offline_models: dict[tuple[str, str], object], tmp_path: Path
) -> None:
    import mlx.core as mx
    from mlx_whisper.load_models import load_model

    snapshot = offline_models[("tiny.en", "transformers")].snapshot_path  # type: ignore[attr-defined]
    out = tmp_path / "mlx"
    write_mlx_model(snapshot, out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MLX_CONFIG, MLX_WEIGHTS])
    config = json.loads((out / MLX_CONFIG).read_text())
    assert config == {
        **openai_dims(json.loads((snapshot / "config.json").read_text())),
        "model_type": "whisper",
    }
    model = load_model(str(out))
    window = first_window(snapshot)
    logits = np.array(model(mx.array(window.mel.T[None]), mx.array([window.prompt]))[0])
    assert logits.shape == window.logits.shape
    assert np.abs(logits - window.logits).max() < LOGIT_TOLERANCE
    assert (logits[-1 - len(window.text_tokens) : -1].argmax(-1) == window.text_tokens).all()
