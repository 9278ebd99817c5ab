"""Third-party implementations join through the ``whisperbench.implementations`` entry points.

The echo plugin in ``tests/plugin_pkg`` is made visible the way pip installs a package: a
``.dist-info`` folder with ``entry_points.txt`` on ``sys.path``, where ``importlib.metadata``
finds it. Nothing in whisperbench is patched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.distributions import write_distribution

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations import (
    ImplementationOptions,
    availability,
    builtin_names,
    create,
    get_implementation,
    parse_implementation_list,
    registered_names,
)
from whisperbench.implementations.faster_whisper import FasterWhisper
from whisperbench.scoring import wer
from whisperbench.suite.pool import load_model

PLUGIN_SOURCE = Path(__file__).parent / "plugin_pkg"
PLUGIN_MODULE = "whisperbench_echo_plugin"


@pytest.fixture
def installed_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The echo plugin, plus one whose entry point names a module that does not exist."""
    write_distribution(tmp_path, "whisperbench-echo-plugin", {"echo": f"{PLUGIN_MODULE}:Echo"})
    write_distribution(
        tmp_path, "whisperbench-broken-plugin", {"broken": "whisperbench_no_such_module:Impl"}
    )
    monkeypatch.syspath_prepend(str(PLUGIN_SOURCE))  # the package's code
    monkeypatch.syspath_prepend(str(tmp_path))  # its metadata
    yield tmp_path
    sys.modules.pop(PLUGIN_MODULE, None)


def test_no_plugins_without_the_distribution() -> None:
    assert "echo" not in registered_names()


def test_plugin_is_registered_and_selectable(installed_plugins: Path) -> None:
    names = registered_names()
    assert names[: len(builtin_names())] == builtin_names()  # built-ins first
    assert "echo" in names
    assert parse_implementation_list("transformers,echo") == ["transformers", "echo"]
    assert "echo" in parse_implementation_list("all")
    cls = get_implementation("echo")
    assert cls.__module__ == PLUGIN_MODULE and cls.name == "echo"
    assert cls.weights_format == cls.family == "ctranslate2"  # it sets the older name only


@pytest.mark.skipif(FasterWhisper.unavailable_reason() is not None, reason="needs faster-whisper")
def test_availability_lists_the_plugin_and_explains_a_broken_one(installed_plugins: Path) -> None:
    by_name = {item.name: item for item in availability()}
    assert by_name["echo"].available and by_name["echo"].reason is None
    broken = by_name["broken"]
    assert not broken.available
    assert broken.reason is not None and "whisperbench_no_such_module" in broken.reason
    with pytest.raises(ImplementationUnavailableError, match="cannot be imported"):
        create("broken")


@pytest.mark.skipif(FasterWhisper.unavailable_reason() is not None, reason="needs faster-whisper")
def test_plugin_is_created_and_transcribes(
    installed_plugins: Path, offline_hub_cache: Path
) -> None:
    impl = create("echo", ImplementationOptions(device="cpu"))
    load_model(impl, "tiny.en", cache_dir=offline_hub_cache)
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    result = impl.transcribe(clip.samples)
    assert wer(clip.reference, result.text) <= 0.25, result.text
    params = impl.get_params()
    assert params["implementation"] == "echo" and params["wraps"] == "faster-whisper"
    assert params["model"] == "tiny.en" and params["device"] == "cpu"
    impl.cleanup()


@pytest.mark.skipif(FasterWhisper.unavailable_reason() is not None, reason="needs faster-whisper")
def test_check_models_command_verifies_the_plugin(
    installed_plugins: Path, offline_hub_cache: Path
) -> None:
    """The plugin as an installed package would be: found by a fresh process, its weights
    (the format it declares, with the older name ``family``) verified by loading them in the
    command's child process, with no whisperbench change."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(installed_plugins), str(PLUGIN_SOURCE)]))
    command = [sys.executable, "-m", "whisperbench.cli", "check-models", "--model", "tiny.en"]
    command += ["--implementations", "echo", "--cache-dir", str(offline_hub_cache), "--json"]
    out = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    (record,) = json.loads(out.stdout)["records"]
    assert (record["implementation"], record["status"]) == ("echo", "complete")
    assert record["repo_id"] == "Systran/faster-whisper-tiny.en"
