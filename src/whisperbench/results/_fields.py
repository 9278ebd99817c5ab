"""The fields of a record: their annotations, which have no default, and how a JSON value is
split into the scalar fields a record declares and the rest (kept in ``extra``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import Any


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def field_types(cls: type) -> dict[str, str]:
    """The declared fields of a record and their annotations (as text)."""
    return {f.name: str(f.type).replace(" ", "") for f in fields(cls)}


def required_fields(cls: type) -> tuple[str, ...]:
    """The fields of a record that have no default."""
    return tuple(
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    )


_SCALARS: dict[str, Callable[[Any], bool]] = {
    "str": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "float": is_number,
}


def _fits(type_text: str, value: Any) -> bool:
    """Whether a JSON value fits a scalar field annotated ``type_text`` (``int|None``...)."""
    base, optional = type_text.removesuffix("|None"), type_text.endswith("|None")
    if value is None:
        return optional and base in _SCALARS
    check = _SCALARS.get(base)
    return check is not None and check(value)


def split_fields(cls: type, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` split into the scalar fields ``cls`` declares, where the value has the field's
    type, and everything else (unknown keys, values of another type), kept as it was."""
    types = field_types(cls)
    typed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        type_text = types.get(key)
        if type_text is not None and _fits(type_text, value):
            typed[key] = value
        else:
            extra[key] = value
    return typed, extra
