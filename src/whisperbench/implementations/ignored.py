"""Notes for options an engine does not have: ``get_params`` says an option was dropped, and
why, rather than echoing it as if it had run."""

from __future__ import annotations

from whisperbench.implementations.base import ImplementationOptions

__all__ = ["ignored_options"]

_DEFAULTS = {"batch_size": None, "quantization": "none", "vad": False, "dtype": None}


def ignored_options(
    engine: str, options: ImplementationOptions, why: dict[str, str]
) -> dict[str, str | None]:
    """``{"<option>_note": ...}`` for each option in ``why`` that was set away from its default:
    ``--<option> VALUE is ignored by <engine>: <why>``; None for those left alone."""
    notes: dict[str, str | None] = {}
    for option, reason in why.items():
        value = getattr(options, option)
        set_by_user = value != _DEFAULTS[option]
        flag = "--" + option.replace("_", "-")
        shown = "" if isinstance(value, bool) else f" {value}"
        notes[f"{option}_note"] = (
            f"{flag}{shown} is ignored by {engine}: {reason}" if set_by_user else None
        )
    return notes
