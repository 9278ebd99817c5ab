from __future__ import annotations

import pytest

from whisperbench.errors import UnknownModelError
from whisperbench.models import FAMILIES, MODELS, get_model, parse_model_list

EXPECTED_SIZES = [
    "tiny",
    "tiny.en",
    "base",
    "base.en",
    "small",
    "small.en",
    "medium",
    "medium.en",
    "large",
    "large-v2",
    "large-v3",
]


def test_the_map_holds_every_size() -> None:
    assert list(MODELS) == EXPECTED_SIZES


@pytest.mark.parametrize("size", EXPECTED_SIZES)
def test_every_size_resolves_in_every_family(size: str) -> None:
    spec = get_model(size)
    for family in FAMILIES:
        assert "/" in spec.repo_id(family)
    assert spec.verify_timeout_s == (30.0 if size.startswith("large") else 15.0)
    assert spec.english_only == size.endswith(".en")


def test_large_is_v3_turbo() -> None:
    assert get_model("large").repo_id("transformers") == "openai/whisper-large-v3-turbo"
    assert (
        get_model("large").repo_id("ctranslate2") == "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
    )
    assert get_model("large-v3").repo_id("transformers") == "openai/whisper-large-v3"
    assert get_model("tiny.en").repo_id("ctranslate2") == "Systran/faster-whisper-tiny.en"


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownModelError) as err:
        get_model("huge")
    message = str(err.value)
    assert "'huge'" in message
    for size in EXPECTED_SIZES:
        assert size in message


def test_model_lists() -> None:
    assert parse_model_list("all") == EXPECTED_SIZES
    assert parse_model_list("tiny.en, base") == ["tiny.en", "base"]
    with pytest.raises(UnknownModelError):
        parse_model_list("tiny,gigantic")
