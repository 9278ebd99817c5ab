"""``constraints/lowest.txt`` (``tox -e lowest``) pins every dependency of ``pyproject.toml`` at
its floor: a floor raised or a dependency added without the constraint fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="Python 3.11 reads pyproject.toml")
REPO = Path(__file__).resolve().parents[1]
UNPINNED = {"torch"}
"""Installed as the machine's build (``WHISPERBENCH_TORCH``), as in every tox env."""


def _series(version: Version) -> tuple[int, int]:
    """``13`` and ``13.0.0`` -> (13, 0); ``2.3.1`` -> (2, 3)."""
    major, minor = (*version.release, 0)[:2]
    return major, minor


def _floor(requirement: Requirement) -> Version:
    (floor,) = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    return floor


def test_each_dependency_is_pinned_at_its_floor() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {
        canonicalize_name(req.name): req
        for req in map(Requirement, project["dependencies"])
        if req.name not in UNPINNED
    }
    lines = (REPO / "constraints" / "lowest.txt").read_text().splitlines()
    pinned = {
        canonicalize_name(req.name): req
        for req in (Requirement(line) for line in lines if line and not line.startswith("#"))
    }
    assert pinned.keys() == wanted.keys()
    for name, requirement in wanted.items():
        (pin,) = [Version(s.version) for s in pinned[name].specifier if s.operator == "=="]
        assert requirement.specifier.contains(pin), (name, pin)
        # the floor itself, or its first release where the floor was never published
        assert _series(pin) == _series(_floor(requirement)), (name, pin)
