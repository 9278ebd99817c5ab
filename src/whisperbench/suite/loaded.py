"""A model the pool loaded, with what its load measured (``pool.ModelPool`` makes them; the
cases' records read them through ``measure.shared_fields``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from whisperbench import devices

if TYPE_CHECKING:
    from whisperbench.implementations import WhisperImplementation

MiB = 2**20


@dataclass
class LoadedModel:
    implementation: WhisperImplementation
    size: str
    label: str
    load_s: float
    peak_rss_after_load_mb: float
    device_memory: devices.DeviceMemory | None = None
    """The device memory of the load (``devices.DEVICE_MEMORY_MEASURES`` says what it is)."""
    available_before_load_mb: float | None = None
    """System memory available when the load started (``devices.available_memory_bytes``)."""
