"""``index.html`` from saved runs: self-contained, with its plots, the rule stated, regressions
and changes of configuration listed, and the machine's facts."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.evidence_runs import evidence_run

from whisperbench.history import load_history
from whisperbench.regressions import Limits
from whisperbench.report.html import html_report

if TYPE_CHECKING:
    from conftest import VariantStorage


def images(page: str) -> dict[str, bytes]:
    found = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    return {alt: base64.b64decode(data) for alt, data in found}


def test_a_self_contained_page_with_every_plot(cpu_storage: Path) -> None:
    history = load_history(cpu_storage)
    page = html_report(history)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    shown = images(page)
    assert "RTFx by model and implementation" in shown
    assert "WER against RTFx" in shown
    cases = {c.key.label for run in history.runs for c in run.cases}
    assert {f"history of {label}" for label in cases} <= set(shown)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in shown.values())
    assert "Regressions are marked by this rule: each result against the median of up to 5 " in page
    assert "<td>version: faster-whisper</td><td>1.2.1</td>" in page
    assert '<td class="num">78.4</td>' in page


def test_regressions_and_configuration_changes_are_listed(variants: VariantStorage) -> None:
    variants.add("0001")
    variants.add("0002", slower=1.4)
    variants.add("0003", params={"decoder": "generate (beam search)"})
    page = html_report(load_history(variants.root), Limits())
    regressions = page.split("<ul class='regression'>", 1)[1].split("</ul>", 1)[0]
    assert regressions.count("<li>run 0002 (") == 12
    assert "+40.0%, over median:10%" in regressions
    changes = page.split("<ul class='config'>", 1)[1].split("</ul>", 1)[0]
    assert "config changed: decoder static greedy -&gt; generate (beam search)" in changes
    assert "config changed: decoder none -&gt; generate (beam search)" in changes  # the recipe


def test_the_verdict_heads_the_page_and_figures_show_their_intervals(tmp_path: Path) -> None:
    evidence_run(tmp_path, "0001")
    page = html_report(load_history(tmp_path))
    verdict = page.index("<h2>Verdict</h2>")
    assert verdict < page.index("<h2>Linux-CPython-3.11-64bit")
    line = page[verdict:].split("<li>", 1)[1].split("</li>", 1)[0]
    assert line.startswith("Linux-CPython-3.11-64bit: cpu, tiny.en: fastest at equal accuracy: ")
    assert (
        "no engine is significantly less accurate than" in line and "60 units (840 words)" in line
    )
    assert '<td class="num">7.1 [' in page  # the long clip's WER and its interval
    assert "<p class='note'>no interval for WER: no per-utterance errors saved (" in page
