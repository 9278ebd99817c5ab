"""The records in pytest-benchmark's ``extra_info`` and back: ``to_extra_info`` and
``from_extra_info`` are the only two places that know the ``extra_info`` keys. Every record
is saved with ``schema_version`` (``SCHEMA_VERSION``); a record of an older version is brought
up to date by the explicit upgrade functions of ``UPGRADES``, one per version step (as asv's
``update_to_2``), before it is decoded, so that runs saved before (``reports/``) load into the
same types (fields they lack are None). Keys a record does not declare are written back
unchanged."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from whisperbench.errors import ResultError
from whisperbench.resources.timeline import Timeline
from whisperbench.results._fields import field_types, is_number, required_fields, split_fields
from whisperbench.results.records import (
    RESULT_KINDS,
    CaseRecord,
    Params,
    Result,
    WordErrorCounts,
)
from whisperbench.scoring.evidence import UnitErrors

SCHEMA_VERSION = 3
"""The version of the records written now. 1: the records as saved before the version was (no
``schema_version`` key; ``reports/`` holds such runs, whose fields added since are None);
2: the same fields, with ``schema_version`` saved; 3: energy, NVML device memory and the
resource timeline added (issue 24; None in older records)."""
VERSION_KEY = "schema_version"


def upgrade_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 record as version 2: every key it saved is kept as it was (a field added
    since reads as None), and it is marked with its version."""
    return {**data, VERSION_KEY: 2}


def upgrade_to_3(data: dict[str, Any]) -> dict[str, Any]:
    """A version-2 record as version 3: the resource fields it lacks read as None (its energy
    was not measured: there is no reason to give, and no zero)."""
    return {**data, VERSION_KEY: 3}


UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: upgrade_to_2,
    2: upgrade_to_3,
}
"""The upgrade from each version to the next: a record of version N goes through
``UPGRADES[N]``, ``UPGRADES[N + 1]``, ... up to ``SCHEMA_VERSION``. A change to what is saved
adds a version and its function here (and a saved run of the old version to the tests)."""


def upgraded(data: Mapping[str, Any]) -> dict[str, Any]:
    """A saved record brought up to ``SCHEMA_VERSION`` (``ResultError`` for one of a newer
    version than this whisperbench knows, or of no version it can read)."""
    out = dict(data)
    version = out.get(VERSION_KEY, 1)
    if type(version) is not int or version < 1:
        raise ResultError(f"{VERSION_KEY} {version!r} is not a version whisperbench wrote")
    if version > SCHEMA_VERSION:
        raise ResultError(
            f"{VERSION_KEY} {version}: saved by a newer whisperbench (this one reads up to "
            f"{SCHEMA_VERSION}); upgrade whisperbench to read it"
        )
    while version < SCHEMA_VERSION:
        out = UPGRADES[version](out)
        version = out[VERSION_KEY]
    return out


def to_extra_info(result: CaseRecord) -> dict[str, Any]:
    """The record as pytest-benchmark's ``extra_info`` (JSON-ready), with its version."""
    out: dict[str, Any] = {"kind": result.kind, VERSION_KEY: SCHEMA_VERSION}
    types = field_types(type(result))
    for f in fields(result):
        if f.name == "extra":
            continue
        value = getattr(result, f.name)
        encode = _ENCODERS.get(types[f.name])
        if encode is not None:
            value = encode(value)
        elif isinstance(value, Params | WordErrorCounts):
            value = value.to_mapping()
        elif isinstance(value, Mapping):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    out.update(result.extra)
    return out


def from_extra_info(data: Any) -> Result:
    """The record saved in a benchmark's ``extra_info``, whichever version wrote it;
    ``ResultError`` when it is not whisperbench's or lacks a field every record needs."""
    if not isinstance(data, Mapping) or data.get("kind") not in RESULT_KINDS:
        raise ResultError(f"no whisperbench extra_info (kind {'/'.join(RESULT_KINDS)})")
    cls = RESULT_KINDS[str(data["kind"])]
    body = {key: value for key, value in upgraded(data).items() if key not in ("kind", VERSION_KEY)}
    nested: dict[str, Any] = {}
    for name, type_text in field_types(cls).items():
        decode = _NESTED.get(type_text)
        if decode is None or name not in body:
            continue
        try:
            nested[name] = decode(body[name])
        except (ResultError, TypeError, ValueError):
            continue  # kept in ``body``, and so in ``extra``, as it was
        del body[name]
    typed, extra = split_fields(cls, body)
    missing = [name for name in required_fields(cls) if name not in typed]
    if missing:
        raise ResultError(f"extra_info lacks {', '.join(missing)}")
    return cls(**typed, **nested, extra=extra)


def _params(value: Any) -> Params:
    if value is not None and not isinstance(value, Mapping):
        raise TypeError("params is not a mapping")
    return Params.from_mapping(value)


def _word_errors(value: Any) -> WordErrorCounts | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError("word_errors is not a mapping")
    return WordErrorCounts.from_mapping(value)


def _seconds(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or not all(is_number(v) for v in value.values()):
        raise TypeError("not a mapping of seconds")
    return {str(k): float(v) for k, v in value.items()}


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError("not a list of strings")
    return tuple(value)


def _numbers(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not all(is_number(v) for v in value):
        raise TypeError("not a list of numbers")
    return tuple(float(v) for v in value)


def _unit_counts(value: Any) -> dict[str, tuple[UnitErrors, ...]]:
    """``{utterance: [[S, D, I, N], ...]}`` -> the units (TypeError when it is not that)."""
    if not isinstance(value, Mapping):
        raise TypeError("unit_errors is not a mapping")
    out: dict[str, tuple[UnitErrors, ...]] = {}
    for utterance, units in value.items():
        if not isinstance(units, list) or not all(
            isinstance(u, list) and len(u) == 4 and all(type(n) is int for n in u) for u in units
        ):
            raise TypeError(f"unit_errors of {utterance!r} are not lists of [S, D, I, N]")
        out[str(utterance)] = tuple(UnitErrors(*u) for u in units)
    return out


def _encode_units(value: Mapping[str, tuple[UnitErrors, ...]]) -> dict[str, list[list[int]]]:
    return {
        utterance: [[u.substitutions, u.deletions, u.insertions, u.reference_words] for u in units]
        for utterance, units in value.items()
    }


_NESTED: dict[str, Callable[[Any], Any]] = {
    "Params": _params,
    "WordErrorCounts|None": _word_errors,
    "Mapping[str,float]": _seconds,
    "tuple[str,...]": _texts,
    "tuple[float,...]": _numbers,
    "Mapping[str,tuple[UnitErrors,...]]": _unit_counts,
    "Timeline|None": Timeline.from_mapping,
}
"""How a saved value becomes a record's field that is not a plain JSON scalar, by the field's
annotation: the parameters, word-error counts (a corpus record's S/D/I totals too), mappings of
numbers (seconds per phase, WER quantiles), lists of names (the worst utterances) and of
numbers (the seconds of each round), and word errors per unit."""

_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "Mapping[str,tuple[UnitErrors,...]]": _encode_units,
    "Timeline|None": lambda value: None if value is None else value.to_mapping(),
}
"""How a field that JSON cannot hold as it is is written (the inverse of ``_NESTED``)."""
