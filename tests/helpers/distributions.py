"""Installed distributions made for a test: a ``.dist-info`` folder with ``entry_points.txt``
on ``sys.path``, where ``importlib.metadata`` finds it, as pip would leave it."""

from __future__ import annotations

from pathlib import Path

from whisperbench.implementations import ENTRY_POINT_GROUP


def write_distribution(
    site: Path, name: str, entry_points: dict[str, str], group: str = ENTRY_POINT_GROUP
) -> Path:
    """A minimal installed distribution: METADATA and entry_points.txt in ``<name>.dist-info``."""
    dist_info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n", encoding="utf-8"
    )
    lines = [f"[{group}]"] + [f"{key} = {value}" for key, value in entry_points.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dist_info
