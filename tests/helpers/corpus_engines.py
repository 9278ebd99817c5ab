"""The ``fake`` engine (a real engine that needs no weights) set up for corpus cases: a handler
that "hears" each utterance of a corpus as its reference, or as a test says it did, and the
engine loaded as the suite's pool would hand it to ``measure_corpus``."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from whisperbench.datasets import Corpus
from whisperbench.implementations import TranscriptionResult
from whisperbench.implementations.fake import FakeWhisper
from whisperbench.suite.pool import LoadedModel


def key(audio: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(audio, dtype=np.float32).tobytes()).hexdigest()


def hearing(corpus: Corpus, said: dict[str, str]) -> Any:
    """A handler that "hears" each utterance's reference, or what ``said`` gives for its id."""
    texts = {key(u.samples): said.get(u.id, u.reference or "") for u in corpus.utterances}

    def handler(audio: np.ndarray) -> TranscriptionResult:
        return TranscriptionResult(texts[key(audio)], "en")

    handler.__name__ = "hearing"
    return handler


def loaded(engine: FakeWhisper) -> LoadedModel:
    engine.load(None, engine.get_model_info("tiny.en"))
    return LoadedModel(engine, "tiny.en", "tiny.en", load_s=0.001, peak_rss_after_load_mb=1.0)
