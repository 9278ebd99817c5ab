"""The rows of ``check-models`` and ``download``: one per (implementation, model size), the
status of the weights that the implementation reads. The registry says which format each
implementation reads; the ``weights`` package inspects (and verifies) that format's files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_args

from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations import get_implementation
from whisperbench.models import get_model
from whisperbench.weights import (
    VerifyMethod,
    WeightsRequest,
    WeightsStatus,
    inspect_many,
    verify_status,
)

__all__ = ["ModelStatus", "inspect_rows"]

UNKNOWN_FORMAT = ""
"""The format of an implementation that cannot be imported."""


@dataclass(kw_only=True)
class ModelStatus(WeightsStatus):
    """What the cache holds for one (implementation, model size), and what to do about it."""

    implementation: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"status": data.pop("status"), "implementation": data.pop("implementation"), **data}

    @classmethod
    def of(cls, implementation: str, status: WeightsStatus) -> ModelStatus:
        return cls(implementation=implementation, **asdict(status))


def _format_of(name: str) -> tuple[str | None, str | None]:
    """The weight format ``name`` reads and why it cannot run here (None when it can)."""
    try:
        cls = get_implementation(name)
    except ImplementationUnavailableError as exc:
        return None, str(exc)
    reason = cls.unavailable_reason()
    return cls.weights_format, (f"{name} is not available here: {reason}" if reason else None)


def inspect_rows(
    implementations: list[str],
    sizes: list[str],
    *,
    cache_dir: Path | None = None,
    verify_method: VerifyMethod = "cache-only",
    timeout_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ModelStatus]:
    """One row per (implementation, size), implementation-major, scanning the cache once.

    ``cache_dir`` as the user gave it (None: from the environment); ``timeout_s`` overrides
    the model map's load limit; ``progress`` hears a line before each verifying load. An
    unknown size raises (UnknownModelError); an implementation that cannot run here (a missing
    package, a plugin that fails to import) gives an ``error`` row.
    """
    if verify_method not in get_args(VerifyMethod):
        raise ValueError(f"verify_method must be one of {get_args(VerifyMethod)}")
    for size in sizes:
        get_model(size)
    readers = {name: _format_of(name) for name in implementations}
    pairs = [(name, size) for name in implementations for size in sizes]
    requests = [
        WeightsRequest(size, readers[name][0] or UNKNOWN_FORMAT, name) for name, size in pairs
    ]
    statuses = inspect_many([r for r in requests if r.format], cache_dir=cache_dir)
    found = iter(statuses)
    rows = []
    for name, size in pairs:
        weights_format, unavailable = readers[name]
        if weights_format is None:
            why = unavailable or "unknown weight format"
            status = WeightsStatus("error", size, UNKNOWN_FORMAT, None, None, 0, None, why)
        else:
            status = next(found)
        if unavailable is not None and weights_format is not None:
            status.reason = f"{unavailable} (cache: {status.status}: {status.reason})"
            status.status = "error"
            status.fix = None
        if verify_method == "load" and status.ready:
            limit = timeout_s if timeout_s is not None else get_model(size).verify_timeout_s
            if progress is not None:
                progress(f"loading {name} {size} to verify it (limit {limit:g} s)")
            status = verify_status(status, cache_dir=cache_dir, timeout_s=timeout_s)
        rows.append(ModelStatus.of(name, status))
    return rows
