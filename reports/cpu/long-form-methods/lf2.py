"""Cut strategies, text-only greedy via generate (same as ours), tiny.en CPU."""
import sys, json, time, math
from pathlib import Path
import numpy as np, torch
from whisperbench.audio import load_clip, fixture_clip_path
from whisperbench.implementations import ImplementationOptions, create
from whisperbench.suite import load_model
from whisperbench.implementations.windows import Window, log_mel, window_batch
from whisperbench.metrics import word_errors
torch.set_num_threads(2)
impl = create("transformers", ImplementationOptions(device="cpu"))
load_model(impl, "tiny.en", cache_dir=Path("/work/scratch/hub"))
model, fe, tok = impl.pipe.model, impl.pipe.feature_extractor, impl.pipe.tokenizer
SR = 16000

def gen(audio, wins, ts=False, bs=8):
    outs = []
    for i in range(0, len(wins), bs):
        part = wins[i:i+bs]
        f = log_mel(window_batch(torch.from_numpy(audio), part, fe.n_samples), fe.mel_filters)
        lim = max(16, math.ceil(max(w.seconds for w in part) * 7)) if not ts else 224
        with torch.inference_mode():
            o = model.generate(input_features=f, return_timestamps=ts, max_new_tokens=lim)
        outs += o.tolist()
    return outs

def frame_energy(audio, hop):
    n = len(audio)//hop
    return np.square(audio[:n*hop].astype(np.float64)).reshape(n, hop).mean(1)

def pause_windows(audio, search_s, stretch_s, chunk_s=30.0):
    """cut at the centre of the stretch (stretch_s) whose loudest 10 ms frame is quietest, in the last search_s"""
    hop = SR // 100
    e = frame_energy(audio, hop)
    k = max(1, int(round(stretch_s * 100)))
    n = len(audio); chunk = int(chunk_s*SR); wins=[]; start=0
    while n - start > chunk:
        end = min(start + chunk, n - SR)
        low = max(start + SR, end - int(search_s*SR))
        f0, f1 = low // hop, end // hop
        seg = e[f0:f1]
        if len(seg) > k:
            from numpy.lib.stride_tricks import sliding_window_view
            loud = sliding_window_view(seg, k).max(1)
            # prefer later among near-ties: quietest within 1 dB? pick argmin of loud*(1+small penalty for earliness)
            i = int(np.argmin(loud))
            cut = (f0 + i + k//2) * hop
        else:
            cut = end
        wins.append(Window(start, cut-start)); start = cut
    wins.append(Window(start, n-start))
    return wins

_vad = None
def vad_windows(audio, search_s, chunk_s=30.0):
    from faster_whisper.vad import get_speech_timestamps, VadOptions
    ts = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=100, speech_pad_ms=0, threshold=0.35))
    gaps = [(a["end"], b["start"]) for a, b in zip(ts, ts[1:])]
    n = len(audio); chunk = int(chunk_s*SR); wins=[]; start=0
    hop=SR//100; e=frame_energy(audio,hop)
    while n - start > chunk:
        end = min(start + chunk, n - SR); low = max(start + SR, end - int(search_s*SR))
        cands = [(g1-g0, (g0+g1)//2) for g0, g1 in gaps if low <= (g0+g1)//2 <= end]
        if cands:
            cut = max(cands)[1]
        else:
            cut = pause_windows(audio[start:], 5.0, 0.1, chunk_s)[0].end + start
        wins.append(Window(start, cut-start)); start = cut
    wins.append(Window(start, n-start))
    return wins

def run(audio, wins):
    return " ".join(tok.decode(o, skip_special_tokens=True).strip() for o in gen(audio, wins))

def method(name):
    kind, *a = name.split(":")
    if kind == "pause":
        s, st = float(a[0]), float(a[1]); return lambda x: pause_windows(x, s, st)
    if kind == "vad":
        return lambda x: vad_windows(x, float(a[0]))

def clips(which):
    fx = Path("/work/main/fixtures/realspeech")
    real_long = sorted(p for p in fx.glob("*.flac") if p.stem.startswith(("lsother", "ljspeech")))
    esp = [fixture_clip_path(n) for n in ("medium", "long", "seams", "spontaneous")]
    return {"real": real_long, "espeak": esp, "all": real_long + esp}[which]

if __name__ == "__main__":
    res = json.loads(Path("lf2.json").read_text()) if Path("lf2.json").exists() else {}
    which = sys.argv[2]
    for m in sys.argv[1].split(","):
        te=tn=ti=0; t0=time.perf_counter(); nwin=0
        for p in clips(which):
            c = load_clip(p); wins = method(m)(c.samples); nwin += len(wins)
            text = run(c.samples, wins); e = word_errors(c.reference, text)
            res.setdefault(m, {})[p.stem] = {"text": text, "cuts": [w.end/SR for w in wins]}
            if p.parent.name == "realspeech":
                te += e.substitutions+e.deletions+e.insertions; tn += e.reference_words; ti += e.insertions
            print(f"{m:14s} {p.stem[:30]:30s} {100*e.wer:5.1f}% I{e.insertions} cuts {[round(w.end/SR,1) for w in wins]}", flush=True)
        print(f"{m:14s} POOLED real {100*te/max(tn,1):.2f}% I{ti} windows {nwin} ({time.perf_counter()-t0:.0f}s)", flush=True)
        Path("lf2.json").write_text(json.dumps(res, indent=1))
