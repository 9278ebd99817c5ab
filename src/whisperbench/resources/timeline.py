"""A case's resource timeline as saved with its record: one list per series sampled (host RSS,
device memory, power, temperature, SM clock) beside the sample times, rounded, and at most
``MAX_POINTS`` long (longer runs are thinned to the peak of each stretch), with when the timed
rounds began and ended. Series that were never readable are left out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_POINTS = 400
SERIES: dict[str, tuple[str, int]] = {
    "rss_mb": ("host RSS, MB", 1),
    "device_mb": ("device memory (NVML, this process), MB", 1),
    "power_w": ("power, W", 1),
    "temperature_c": ("temperature, °C", 0),
    "sm_clock_mhz": ("SM clock, MHz", 0),
}
"""Each series a timeline may hold: its label in plots and the decimals it is saved with."""


@dataclass(frozen=True)
class Timeline:
    """Samples of one case, every ``interval_s``: ``t_s`` from the case's start."""

    interval_s: float
    t_s: tuple[float, ...]
    series: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)
    timed_from_s: float | None = None
    timed_to_s: float | None = None

    def peak(self, name: str) -> float | None:
        values = [v for v in self.series.get(name, ()) if v is not None]
        return max(values) if values else None

    def to_mapping(self) -> dict[str, Any]:
        return {
            "interval_s": self.interval_s,
            "t_s": list(self.t_s),
            **{name: list(values) for name, values in self.series.items()},
            "timed_from_s": self.timed_from_s,
            "timed_to_s": self.timed_to_s,
        }

    @classmethod
    def from_mapping(cls, data: Any) -> Timeline | None:
        """From a saved record (TypeError or ValueError when it is not a timeline)."""
        if data is None:
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("t_s"), list):
            raise TypeError("timeline is not a mapping with t_s")
        times = tuple(float(t) for t in data["t_s"])
        series = {}
        for name in SERIES:
            values = data.get(name)
            if values is not None:
                if not isinstance(values, list) or len(values) != len(times):
                    raise ValueError(f"timeline {name} does not match its times")
                series[name] = tuple(None if v is None else float(v) for v in values)
        return cls(
            float(data["interval_s"]),
            times,
            series,
            _optional(data.get("timed_from_s")),
            _optional(data.get("timed_to_s")),
        )


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def compact(
    interval_s: float,
    times: Sequence[float],
    columns: Mapping[str, Sequence[float | None]],
    timed: tuple[float, float] | None = None,
    max_points: int = MAX_POINTS,
) -> Timeline:
    """The saved form of samples taken at ``times`` (seconds from the case's start): series
    with no value at all left out, values rounded, and past ``max_points`` each stretch of
    samples kept as its last time and each series' peak over it."""
    kept = {
        name: list(values) for name, values in columns.items() if any(v is not None for v in values)
    }
    step = max(1, -(-len(times) // max_points))
    starts = range(0, len(times), step)
    t_s = tuple(round(times[min(i + step, len(times)) - 1], 3) for i in starts)
    series = {
        name: tuple(_peak(values[i : i + step], SERIES[name][1]) for i in starts)
        for name, values in kept.items()
    }
    return Timeline(
        interval_s,
        t_s,
        series,
        None if timed is None else round(timed[0], 3),
        None if timed is None else round(timed[1], 3),
    )


def _peak(values: Sequence[float | None], decimals: int) -> float | None:
    present = [v for v in values if v is not None]
    return round(max(present), decimals) if present else None
