"""``repeated_ngrams``: word 8-grams a transcript repeats that its reference does not (or any
repeat without a reference), after the same Whisper normalisation as WER."""

from __future__ import annotations

from pathlib import Path

from whisperbench.scoring import (
    REPEAT_NGRAM_WORDS,
    normalize,
    regroup_numbers,
    repeated_ngrams,
    word_errors,
)

PHRASE = "the quick brown fox jumps over the lazy dog again"
"""Ten words: said twice in a row, it holds 3 repeated 8-grams (starting at words 1-3)."""


def test_a_phrase_said_twice_without_a_reference_counts_its_repeated_8_grams() -> None:
    assert REPEAT_NGRAM_WORDS == 8
    assert repeated_ngrams(f"{PHRASE}. {PHRASE}.") == 3
    assert repeated_ngrams(PHRASE) == 0


def test_a_repeat_that_the_reference_also_holds_is_not_counted() -> None:
    twice = f"{PHRASE} {PHRASE}"
    assert repeated_ngrams(twice, reference=twice) == 0
    assert repeated_ngrams(twice, reference=PHRASE) == 3
    # Three times against a reference that says it twice: the 3 8-grams inside the phrase are
    # in the reference twice (not counted); the 7 across the seam ("... again the quick ...")
    # are in the reference once but twice in the transcript (counted).
    assert repeated_ngrams(f"{twice} {PHRASE}", reference=twice) == 7


def test_words_are_normalised_as_for_wer() -> None:
    """Case, punctuation and spelling variants do not hide a repeat."""
    shouted = "The Quick, Brown FOX jumps over the lazy dog: again!"
    assert repeated_ngrams(f"{shouted} {PHRASE}") == 3
    # and the same normalised words are what WER compares
    assert word_errors(PHRASE, shouted).wer == 0.0


def test_short_or_empty_text_has_no_8_grams() -> None:
    assert repeated_ngrams("") == 0
    assert repeated_ngrams("the dog the dog the dog") == 0  # 6 words: no 8-gram at all


def test_a_seam_duplicate_in_a_real_reference_is_counted(tmp_path: Path) -> None:
    """The failure mode of issue 10: a passage of the reference clip printed twice at a
    window seam. The reference itself (whisperbench/data/audio/medium.txt) repeats nothing."""
    from whisperbench.audio import fixture_clip_path

    reference = fixture_clip_path("medium").with_suffix(".txt").read_text(encoding="utf-8")
    words = reference.split()
    assert repeated_ngrams(reference, reference) == 0
    seam = len(words) // 2
    passage = words[seam - 12 : seam]  # 12 words printed again after the seam
    transcript = " ".join([*words[:seam], *passage, *words[seam:]])
    assert repeated_ngrams(transcript, reference) == len(passage) - REPEAT_NGRAM_WORDS + 1
    assert word_errors(reference, transcript).insertions == len(passage)


COUNTING = "One, two, three, four, five, six, seven, eight, nine, ten."


def test_spelled_numbers_against_digits_compare_by_their_digits() -> None:
    """Issue 14, case 10: the normaliser joins the spelled reference into ``12345678910`` and
    leaves the transcript's digits apart; scored as they stand that is 1 substitution and 9
    insertions against 1 word: 1000%."""
    assert normalize(COUNTING) == "12345678910"
    assert normalize("1, 2, 3, 4, 5, 6, 7, 8, 9, 10.") == "one 2 3 4 5 6 7 8 9 10"
    right = word_errors(COUNTING, "1, 2, 3, 4, 5, 6, 7, 8, 9, 10.")
    assert (right.wer, right.reference_words, right.regrouped_numbers) == (0.0, 1, 1)
    wrong = word_errors(COUNTING, "1, 2, 3, 4, 5, 6, 7, 8, 9, 11.")
    assert (wrong.substitutions, wrong.insertions, wrong.wer) == (1, 0, 1.0)
    # a reference written in digits keeps its words; a transcript spelling them is cut alike
    finer = word_errors("Press 1, 2, 3 and go.", "Press one two four and go.")
    assert (finer.reference_words, finer.substitutions, finer.wer) == (6, 1, 1 / 6)
    assert regroup_numbers(["call", "415555"], ["call", "415", "555"]) == (["call", "415555"], 1)


def test_everything_else_scores_as_the_open_asr_leaderboard_scores_it() -> None:
    """No run of numbers cut differently: the WER is jiwer's on the two normalised texts."""
    import jiwer

    from whisperbench.audio import fixture_clip_path

    reference = fixture_clip_path("medium").with_suffix(".txt").read_text(encoding="utf-8")
    words = reference.split()
    damaged = " ".join([*words[:40], "nineteen", "ninety", "five", *words[45:]])
    for ref, hyp in (
        (reference, damaged),
        ("In 1995 twenty people came.", "In nineteen ninety five twenty people came."),
        (COUNTING, COUNTING),
        ("The 3 dogs.", "The three cats."),
    ):
        plain = jiwer.wer(normalize(ref), normalize(hyp))
        ours = word_errors(ref, hyp)
        assert ours.regrouped_numbers == 0 and ours.wer == plain, (ref, hyp)
