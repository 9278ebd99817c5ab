"""The weight format declarations and the model map agree."""

from __future__ import annotations

import pytest

from whisperbench.errors import UnknownFormatError
from whisperbench.models import MODELS, REPO_FORMATS
from whisperbench.weights.formats import FORMATS, get_format, repo_files_format


def test_every_repo_format_is_declared_and_every_size_has_its_repo() -> None:
    for name in REPO_FORMATS:
        declared = get_format(name)
        assert declared.name == name
        assert declared.converted_from is None and declared.repo_format == name
        assert repo_files_format(name) is declared
        assert declared.required and declared.allow_patterns
        for spec in MODELS.values():
            assert "/" in spec.repo_id(name)


def test_a_converted_format_names_its_source_and_conversion() -> None:
    for declared in FORMATS.values():
        if declared.converted_from is not None:
            assert declared.conversion, declared.name
            assert repo_files_format(declared.name).name == declared.converted_from


def test_an_unknown_format_lists_the_declared_ones() -> None:
    declared = ", ".join(FORMATS)
    with pytest.raises(UnknownFormatError, match=f"'onnx'; declared formats: {declared}$"):
        get_format("onnx")
