"""The one set of value formatters, for every kind of metric the declarations use."""

from __future__ import annotations

from whisperbench import formatting
from whisperbench.results import metric


def test_values_are_scaled_and_formatted_as_declared() -> None:
    assert formatting.value(metric("wer"), 0.1047) == "10.5"
    assert formatting.value(metric("rtfx"), 4025.635) == "4025.6"
    assert formatting.value(metric("median_s"), 0.16357) == "0.164"
    assert formatting.value(metric("repeated_ngrams"), 3) == "3"
    assert formatting.value(metric("peak_rss_mb"), 1923.37) == "1923"
    assert formatting.value(metric("wer"), None) == formatting.MISSING == "–"


def test_values_in_sentences_carry_their_unit() -> None:
    assert formatting.value_with_unit(metric("wer"), 0.5) == "50.0%"
    assert formatting.value_with_unit(metric("median_s"), 0.234) == "0.234 s"
    assert formatting.value_with_unit(metric("rtfx"), 180.8) == "180.8x"
    assert formatting.value_with_unit(metric("repeated_ngrams"), 12) == "12"
    assert formatting.value_with_unit(metric("peak_device_mb"), 798.0) == "798 MB"
    assert formatting.value_with_unit(metric("wer"), None) == "–"


def test_changes_read_as_each_metric_measures_them() -> None:
    wer, rtfx, repeats = metric("wer"), metric("rtfx"), metric("repeated_ngrams")
    assert formatting.change_cell(rtfx, -0.2996) == "-30.0%"
    assert formatting.change_cell(wer, 2.0) == "+2.0"
    assert formatting.change_text(wer, 2.0) == "+2.0 points"
    assert formatting.change_cell(repeats, 3) == "+3"
    assert formatting.change_text(repeats, -1) == "-1"
    assert formatting.change_text(wer, None) == "–"
    assert formatting.relative(0.428) == "+42.8%"


def test_parameters_and_units_of_headers() -> None:
    assert formatting.param(None) == "–"
    assert formatting.param(24) == "24"
    assert formatting.unit_suffix(metric("median_s")) == " s"
    assert formatting.unit_suffix(metric("wer")) == " %"
    assert formatting.unit_suffix(metric("rtfx")) == ""
    assert formatting.unit_suffix(metric("repeated_ngrams")) == ""
