"""The latency track: time to first words, and live streaming simulated on a compute-aware
clock with emission delay and final accuracy (issue 23). The main README's "The latency
track" says what each figure means; ``suite.latency`` runs the cases in the suite.

One module per concern: ``policy`` (LocalAgreement-2, buffer, prompt), ``clock`` (the
simulated live clock), ``alignment`` (reference word times), ``delay`` (emission delays),
``case`` (what the suite calls). The figures are declared with every other metric, in
``results.metrics`` (fields, directions, evidence).
"""

from __future__ import annotations

from whisperbench.streaming.alignment import ReferenceAligner, ReferenceWord
from whisperbench.streaming.case import (
    FirstWords,
    StreamingUnsupportedError,
    StreamOutcome,
    first_words,
    first_words_of,
    reference_words_of,
    run_stream_case,
)
from whisperbench.streaming.clock import Emission, StreamRun, Update, simulate
from whisperbench.streaming.delay import DelayStats, emission_delays
from whisperbench.streaming.policy import (
    LocalAgreement,
    PolicySettings,
    StreamProcessor,
    word_key,
)

__all__ = [
    "DelayStats",
    "Emission",
    "FirstWords",
    "LocalAgreement",
    "PolicySettings",
    "ReferenceAligner",
    "ReferenceWord",
    "StreamOutcome",
    "StreamProcessor",
    "StreamRun",
    "StreamingUnsupportedError",
    "Update",
    "emission_delays",
    "first_words",
    "first_words_of",
    "reference_words_of",
    "run_stream_case",
    "simulate",
    "word_key",
]
