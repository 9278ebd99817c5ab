"""The table of reports/cpu/long-form-methods.md from transcripts.jsonl (run from the repository
root: python reports/cpu/long-form-methods/summarize.py)."""

import json
from pathlib import Path

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.datasets import FIXTURE_REALSPEECH_DIR
from whisperbench.evidence import paired_wer_difference, wer_interval
from whisperbench.metrics import word_errors

HERE = Path(__file__).parent
methods = {
    row["method"]: row["transcripts"]
    for row in map(json.loads, (HERE / "transcripts.jsonl").read_text().splitlines())
}
REFERENCE = "reference pipeline (transformers-reference)"
readings = sorted(methods["quiet cuts (least mean energy), text only [before]"])
espeak = [s for s in readings if not s.startswith(("ls", "lj"))]
readings = [s for s in readings if s not in espeak]
refs = {s: load_clip(FIXTURE_REALSPEECH_DIR / f"{s}.flac").reference for s in readings}
refs |= {s: load_clip(fixture_clip_path(s)).reference for s in espeak}

def errors(method):
    return {s: word_errors(refs[s], methods[method][s]) for s in readings + espeak if s in methods[method]}

base = errors(REFERENCE)
base_units = [u for s in readings for u in base[s].units]
print("| method | WER, 12 real readings [95%] | vs the reference pipeline (paired) | insertions | clips worse than the reference | " + " | ".join(espeak) + " |")
print("| --- | --- | --- | --- | --- |" + " --- |" * len(espeak))
for method in methods:
    found = errors(method)
    units = [u for s in readings for u in found[s].units]
    wrong = sum(found[s].substitutions + found[s].deletions + found[s].insertions for s in readings)
    words = sum(found[s].reference_words for s in readings)
    ci = wer_interval(units)
    diff = paired_wer_difference(base_units, units)
    worse = sum(found[s].wer > base[s].wer for s in readings)
    ins = sum(found[s].insertions for s in readings)
    esp = " | ".join(f"{100 * found[s].wer:.1f}% ({found[s].insertions})" if s in found else "-" for s in espeak)
    d = "-" if method == REFERENCE else f"{100 * diff.delta:+.2f} [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}] p={diff.p:.2f}"
    print(f"| {method} | {100 * wrong / words:.2f}% [{100 * ci.low:.1f}, {100 * ci.high:.1f}] | {d} | {ins} | {worse} of 12 | {esp} |")
