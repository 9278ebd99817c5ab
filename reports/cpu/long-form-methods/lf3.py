"""Overlapping windows (text-only greedy), merged on words. tiny.en CPU."""
import sys, json, time, math, re, difflib
from pathlib import Path
import numpy as np, torch
from whisperbench.audio import load_clip, fixture_clip_path
from whisperbench.metrics import word_errors
from lf2 import gen, tok, SR, frame_energy, Window, clips

def quietest(e, f0, f1, k):
    from numpy.lib.stride_tricks import sliding_window_view
    seg = e[f0:f1]
    if len(seg) <= k: return (f0+f1)//2
    return f0 + int(np.argmin(sliding_window_view(seg, k).max(1))) + k//2

def overlap_windows(audio, overlap_s, search_s=5.0, chunk_s=30.0):
    hop = SR//100; e = frame_energy(audio, hop); n = len(audio); chunk = int(chunk_s*SR)
    wins=[]; start=0
    while n - start > chunk:
        end = min(start+chunk, n-SR); low = max(start+SR, end-int(search_s*SR))
        cut = quietest(e, low//hop, end//hop, 10)*hop
        wins.append(Window(start, cut-start))
        nxt = cut - int(overlap_s*SR)
        nxt = quietest(e, (nxt-SR)//hop, (nxt+SR)//hop, 10)*hop
        start = max(nxt, start+SR)
    wins.append(Window(start, n-start))
    return wins

def key(w): return re.sub(r"[^\w']", "", w.lower())

STATS = {"merged":0, "nomatch":0}
def merge(a, b, overlap_words):
    if not a: return b
    if not b: return a
    ta = a[-overlap_words:]; tb = b[:overlap_words]
    sm = difflib.SequenceMatcher(None, [key(w) for w in ta], [key(w) for w in tb], autojunk=False)
    m = sm.find_longest_match(0, len(ta), 0, len(tb))
    if m.size >= 2 or (m.size == 1 and len(key(ta[m.a])) > 3):
        STATS["merged"] += 1
        ia = len(a) - len(ta) + m.a + (m.size+1)//2; ib = m.b + (m.size+1)//2
        return a[:ia] + b[ib:]
    STATS["nomatch"] += 1
    return a + b

def transcribe(audio, overlap_s):
    wins = overlap_windows(audio, overlap_s)
    outs = gen(audio, wins)
    words = []
    for o in outs:
        w = tok.decode(o, skip_special_tokens=True).split()
        words = merge(words, w, int((overlap_s+3)*4)) if words else w
    return " ".join(words), wins

if __name__ == "__main__":
    res = json.loads(Path("lf3.json").read_text()) if Path("lf3.json").exists() else {}
    for ov in [float(x) for x in sys.argv[1].split(",")]:
        m=f"overlap:{ov}"; te=tn=ti=0; nwin=0; t0=time.perf_counter()
        for p in clips(sys.argv[2]):
            c=load_clip(p); text, wins = transcribe(c.samples, ov); nwin+=len(wins)
            e=word_errors(c.reference, text)
            res.setdefault(m,{})[p.stem]={"text":text,"wins":[(w.start/SR,w.end/SR) for w in wins]}
            if p.parent.name=="realspeech": te+=e.substitutions+e.deletions+e.insertions; tn+=e.reference_words; ti+=e.insertions
            print(f"{m:12s} {p.stem[:30]:30s} {100*e.wer:5.1f}% I{e.insertions} D{e.deletions} {STATS}", flush=True)
        print(f"{m:12s} POOLED real {100*te/max(tn,1):.2f}% I{ti} windows {nwin} ({time.perf_counter()-t0:.0f}s)", flush=True)
        Path("lf3.json").write_text(json.dumps(res, indent=1))
