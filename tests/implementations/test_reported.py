"""What every engine reports alike: the language a call decoded in, read from its results."""

from __future__ import annotations

from whisperbench.implementations.base import TranscriptionResult
from whisperbench.implementations.reported import decoded_language


def test_the_language_is_what_the_results_say() -> None:
    said = [TranscriptionResult("a", "fr"), TranscriptionResult("b", "en")]
    assert decoded_language(said) == "en,fr"
    assert decoded_language([*said, TranscriptionResult("c", "en")]) == "en,fr"
    assert decoded_language([TranscriptionResult("a", None)]) is None
    assert decoded_language([]) is None
