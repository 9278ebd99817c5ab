"""Long-form method experiments on tiny.en, CPU: windows + decode modes, pooled WER."""
import sys, json, time, math
from pathlib import Path
import numpy as np, torch
from whisperbench.audio import load_clip, fixture_clip_path
from whisperbench.implementations import ImplementationOptions, create
from whisperbench.suite import load_model
from whisperbench.implementations.windows import quiet_windows, Window, log_mel, window_batch
from whisperbench.metrics import word_errors

torch.set_num_threads(2)
impl = create("transformers", ImplementationOptions(device="cpu"))
load_model(impl, "tiny.en", cache_dir=Path("/work/scratch/hub"))
model, fe, tok = impl.pipe.model, impl.pipe.feature_extractor, impl.pipe.tokenizer
SR = 16000
TS_BEGIN = model.generation_config.no_timestamps_token_id + 1

def feats(audio, wins):
    wave = torch.from_numpy(audio)
    b = window_batch(wave, wins, fe.n_samples)
    return log_mel(b, fe.mel_filters)

def gen(audio, wins, ts, bs=8):
    outs = []
    for i in range(0, len(wins), bs):
        part = wins[i:i+bs]
        f = feats(audio, part)
        lim = max(16, math.ceil(max(w.seconds for w in part) * 7)) if not ts else 224
        with torch.inference_mode():
            o = model.generate(input_features=f, return_timestamps=ts, max_new_tokens=lim)
        outs += o.tolist()
    return outs

def split_segments(ids):
    """(start_s, end_s|None, text) segments from timestamp tokens."""
    segs, cur, start = [], [], None
    for t in ids:
        if t >= TS_BEGIN:
            s = (t - TS_BEGIN) * 0.02
            if start is None:
                start = s
            else:
                segs.append((start, s, tok.decode(cur, skip_special_tokens=True)))
                cur, start = [], None
        elif t < model.generation_config.eos_token_id:
            cur.append(t)
    if cur:
        segs.append((start, None, tok.decode(cur, skip_special_tokens=True)))
    return segs

def m_quiet(audio, ts):
    wins = quiet_windows(audio)
    return " ".join(tok.decode(o, skip_special_tokens=True).strip() for o in gen(audio, wins, ts))

def m_seek(audio):
    """openai-style sequential seek with timestamps"""
    seek, texts, n = 0, [], len(audio)
    while seek < n - int(0.3*SR):
        L = min(30*SR, n - seek)
        o = gen(audio, [Window(seek, L)], True)[0]
        segs = split_segments(o)
        complete = [s for s in segs if s[1] is not None]
        # single timestamp ending: last tokens [..., ts, eos] with ts unpaired? handled: incomplete
        if L < 30*SR or not complete:
            texts += [s[2] for s in segs]; 
            if L < 30*SR: break
            seek += L; continue
        # last timestamp pair end
        tail_incomplete = segs[-1][1] is None
        if tail_incomplete or True:
            texts += [s[2] for s in complete]
            last_end = complete[-1][1]
            if not tail_incomplete and last_end * SR >= L - SR:  # consumed
                seek += L
            else:
                seek += max(int(last_end * SR), SR)
    return " ".join(t.strip() for t in texts)

METHODS = {"quiet-text": lambda a: m_quiet(a, False), "quiet-ts": lambda a: m_quiet(a, True), "seek-ts": m_seek}

def clips(which):
    fx = Path("/work/main/fixtures/realspeech")
    real_long = sorted(p for p in fx.glob("*.flac") if p.stem.startswith(("lsother", "ljspeech")))
    esp = [fixture_clip_path(n) for n in ("medium", "long", "seams", "spontaneous")]
    return {"real": real_long, "espeak": esp, "all": real_long + esp}[which]

if __name__ == "__main__":
    methods = sys.argv[1].split(","); which = sys.argv[2]
    res = json.loads(Path("lf.json").read_text()) if Path("lf.json").exists() else {}
    for m in methods:
        te = tn = ti = 0; t0 = time.perf_counter(); audio_s = 0
        for p in clips(which):
            c = load_clip(p); audio_s += c.duration_s
            text = METHODS[m](c.samples)
            e = word_errors(c.reference, text)
            res.setdefault(m, {})[p.stem] = text
            te += e.substitutions + e.deletions + e.insertions; tn += e.reference_words; ti += e.insertions
            print(f"{m:14s} {p.stem:36s} {100*e.wer:5.1f}% S{e.substitutions} D{e.deletions} I{e.insertions}", flush=True)
        print(f"{m:14s} POOLED {which} {100*te/tn:.2f}% ins {ti} ({time.perf_counter()-t0:.0f}s for {audio_s:.0f}s)", flush=True)
        Path("lf.json").write_text(json.dumps(res, indent=1))
