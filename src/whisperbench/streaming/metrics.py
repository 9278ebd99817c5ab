"""The latency track's figures, declared once as data: the field each is saved under, how it
is shown, and which way is better. The fields follow ``results.Metric``'s (field, label, name,
unit, spec, better, change, kinds), so that each becomes one ``Metric`` declaration when the
track is wired into the suite; until then nothing here imports the suite.

Case kinds: ``first-words`` (``FirstWords``) and ``stream`` (``StreamOutcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FIRST_WORDS = "first-words"
STREAM = "stream"


@dataclass(frozen=True)
class LatencyMetric:
    field: str
    label: str
    name: str
    unit: str
    spec: str
    better: Literal["bigger", "smaller"]
    change: Literal["relative", "points", "count"]
    kinds: tuple[str, ...]
    scale: float = 1.0
    evidence: Literal["rounds", "units", "none"] = "none"
    """Where an interval would come from: timed rounds (first-words cases timed several
    times), the WER's units of speech, or none (one simulated stream)."""


LATENCY_METRICS: tuple[LatencyMetric, ...] = (
    LatencyMetric(
        "first_text_s",
        "First words s",
        "time to first words",
        "s",
        ".3f",
        "smaller",
        "relative",
        (FIRST_WORDS,),
        evidence="rounds",
    ),
    LatencyMetric(
        "full_text_s",
        "Full text s",
        "time to the whole transcript",
        "s",
        ".3f",
        "smaller",
        "relative",
        (FIRST_WORDS,),
        evidence="rounds",
    ),
    LatencyMetric(
        "delay_mean_s",
        "Delay mean s",
        "mean emission delay",
        "s",
        ".2f",
        "smaller",
        "relative",
        (STREAM,),
    ),
    LatencyMetric(
        "delay_p50_s",
        "Delay p50 s",
        "median emission delay",
        "s",
        ".2f",
        "smaller",
        "relative",
        (STREAM,),
    ),
    LatencyMetric(
        "delay_p90_s",
        "Delay p90 s",
        "90th-percentile emission delay",
        "s",
        ".2f",
        "smaller",
        "relative",
        (STREAM,),
    ),
    LatencyMetric(
        "stream_rtf",
        "Stream RTF",
        "streaming processing real-time factor",
        "x",
        ".2f",
        "smaller",
        "relative",
        (STREAM,),
    ),
    LatencyMetric(
        "kept_up",
        "Kept up",
        "kept up with real time (1 yes, 0 no)",
        "",
        ".0f",
        "bigger",
        "count",
        (STREAM,),
    ),
    LatencyMetric(
        "stream_wer",
        "Stream WER %",
        "streamed WER",
        "%",
        ".1f",
        "smaller",
        "points",
        (STREAM,),
        scale=100.0,
        evidence="units",
    ),
    LatencyMetric(
        "offline_wer",
        "Offline WER %",
        "offline WER of the same engine",
        "%",
        ".1f",
        "smaller",
        "points",
        (STREAM,),
        scale=100.0,
        evidence="units",
    ),
)
"""Every figure of the track, in the order a table shows them."""
