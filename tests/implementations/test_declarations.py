"""Engines declare themselves once; everything else derives from the declarations.

- a new engine on an existing weight format is its module, its test and its lines in
  ``pyproject.toml`` (its extra and its entry point): the fake engine's twin below is only a
  module and an entry point, and the registry, the install hint, the machine facts of a saved
  run and the suite pick it up;
- the README's table of engines names the built-ins with the devices they declare.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.distributions import write_distribution

from whisperbench.devices import machine_facts
from whisperbench.implementations import (
    builtin_names,
    engine_packages,
    get_implementation,
    parse_implementation_list,
    registered_names,
)

REPO = Path(__file__).resolve().parents[2]
TWIN = '''
from whisperbench.implementations.fake import FakeWhisper


class FakeTwin(FakeWhisper):
    """The fake engine's twin: its own name, package, extra and devices."""

    name = "fake-twin"
    weights_format = "transformers"
    package = "fake-twin-engine"
    extra = "fake-twin"
    supported_devices = ("cpu",)
'''


@pytest.fixture
def twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The twin installed: its module, and its entry point (a plugin's, or a built-in's
    ``pyproject.toml`` line)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "fake_twin.py").write_text(TWIN, encoding="utf-8")
    write_distribution(site, "fake-twin-engine", {"fake-twin": "fake_twin:FakeTwin"})
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("fake_twin", None)


def test_the_twin_is_registered_from_its_declaration_alone(twin: Path) -> None:
    assert "fake-twin" in registered_names()
    assert parse_implementation_list("fake-twin") == ["fake-twin"]
    cls = get_implementation("fake-twin")
    assert cls.packages == ("fake-twin-engine",)
    assert (
        cls.install_hint
        == "pip install 'whisperbench[fake-twin]'  (or: pip install fake-twin-engine)"
    )
    assert cls.unsupported_device_reason("cuda") is not None
    assert "fake-twin-engine" in engine_packages()
    assert "fake-twin-engine" in machine_facts(engine_packages())["versions"]


def test_a_missing_module_is_said_with_the_derived_hint(twin: Path) -> None:
    cls = get_implementation("fake-twin")
    lacking = type("Lacking", (cls,), {"modules": ("fake_twin_runtime_that_is_absent",)})
    reason = lacking.unavailable_reason()
    assert reason is not None
    assert "fake_twin_runtime_that_is_absent" in reason and cls.install_hint in reason


@pytest.mark.slow
def test_the_suite_runs_the_twin_and_records_its_package(twin: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(twin), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "benchmarks/", "--implementations=fake-twin",
            "--clips=short", "--rounds=1", "--device=cpu", "-p", "no:cacheprovider",
            f"--benchmark-json={out}", "-q",
        ],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    saved = json.loads(out.read_text())
    assert {b["extra_info"]["implementation"] for b in saved["benchmarks"]} == {"fake-twin"}
    assert "fake-twin-engine" in saved["machine_info"]["whisperbench"]["versions"]


def test_the_readme_table_names_every_builtin_with_its_devices() -> None:
    """The table's prose is the README's; which engines it lists and the devices each names
    are the declarations'."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## Implementations", 1)[1].split("\n\n", 2)[1]
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `([^`]+)` \|.*\|([^|]*)\|$", table, re.M)
    }
    assert sorted(rows) == sorted(builtin_names())
    for name, devices in rows.items():
        for device in get_implementation(name).supported_devices:
            assert re.search(rf"\b{device}\b", devices), (name, device)


PLUGIN_FORMAT = """
from whisperbench.weights.formats import WeightFormat

FORMAT = WeightFormat(
    name="twin-format",
    required=("model.twin",),
    allow_patterns=(),
    verify_loader=lambda: (lambda path: path),
    converted_from="transformers",
    conversion="twin_format_convert",
)
"""


def test_a_plugin_adds_a_weight_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A format declared in the ``whisperbench.weight_formats`` group joins the declared ones,
    and an engine on it reads the repository of the format it is converted from."""
    from whisperbench.implementations.fake import FakeWhisper
    from whisperbench.weights.formats import ENTRY_POINT_GROUP, format_names, get_format

    (tmp_path / "twin_format.py").write_text(PLUGIN_FORMAT, encoding="utf-8")
    write_distribution(
        tmp_path, "twin-format", {"twin-format": "twin_format:FORMAT"}, group=ENTRY_POINT_GROUP
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "twin-format" in format_names()
        assert get_format("twin-format").required == ("model.twin",)
        engine = type(
            "OnTwinFormat", (FakeWhisper,), {"name": "on-twin", "weights_format": "twin-format"}
        )
        info = engine().get_model_info("tiny.en")
        assert info.weights_format == "twin-format" and info.repo_id == "openai/whisper-tiny.en"
    finally:
        sys.modules.pop("twin_format", None)
