"""Provenance: fingerprint speed, look-up time in a large registry, and accuracy.

Run (single-threaded; prints a table and writes JSON if asked)::

    nice -n 5 python benchmarks/bench_provenance.py [--n 10000] [--out benchmarks/results/bench_provenance.json]
    nice -n 5 python benchmarks/bench_provenance.py --accuracy ../shared/data/speech --n 0

* **fingerprint**: :func:`voiceguard.provenance.fingerprint` of 60 s of speech at 16 kHz,
  and the whole read path of a 60 s FLAC file (decode, hash, fingerprint), as real-time
  factors (audio seconds per wall second);
* **registry**: ``--n`` originals of ``--duration`` s in one database. Real audio for that
  many hours is not at hand, so their fingerprints are made of 2 s stretches of real
  speech fingerprints (from ``--pool``, default ``../shared/data/speech`` when present,
  else the repository's clips), each stretch XOR-ed with its own random 3-bit mask: the
  keys then have the statistics of speech but no two originals share content. The
  ``--queries`` query recordings are real files registered among them;
* **look-up**: :func:`voiceguard.provenance.check` of an MP3 32 kbps copy of a 10 s excerpt
  of each registered query recording (must find it), and of unregistered recordings
  (must match nothing), split into fingerprinting, index look-up (SQL) and alignment;
* **accuracy** (``--accuracy DIR``): with the files of DIR that last 8-40 s as originals:
  copies through MP3 32 kbps, Opus 16 kbps, G.711, resampling, -20 dB and trimming must
  match unaltered; 3 s replaced by other speech (also after MP3/Opus/G.711), 2 s inserted
  and 2 s removed must be located; unregistered files must match nothing.

Timings are medians; the benchmark never asserts on time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIPS = [ROOT / "examples" / "bonafide_librispeech_1898.flac",
         ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac",
         ROOT / "tests" / "assets" / "librispeech_1034-121119-0000_2.5s.flac"]
SR = 16000


def _files(folder: Path, lo: float, hi: float) -> list[Path]:
    import soundfile as sf

    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in (".flac", ".wav"):
            try:
                d = sf.info(str(p)).duration
            except RuntimeError:
                continue
            if lo <= d <= hi:
                out.append(p)
    return out


def _load(p: Path) -> np.ndarray:
    from voiceguard.audio import load_mono

    y, _ = load_mono(p, SR)
    return y


def _encode(y: np.ndarray, fmt: str, subtype: str, level: float) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    kw = {"bitrate_mode": "CONSTANT"} if fmt == "MP3" else {}
    sf.write(buf, np.clip(y, -1, 1), SR, format=fmt, subtype=subtype, compression_level=level, **kw)
    return buf.getvalue()


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    import soundfile as sf

    y, sr = sf.read(io.BytesIO(data), dtype="float64")
    return (y.mean(axis=1) if y.ndim > 1 else y), int(sr)


def channel(name: str, y: np.ndarray) -> tuple[np.ndarray, int]:
    """``y`` (16 kHz) through a channel, decoded."""
    from voiceguard.audio import resample
    from voiceguard.audio.g711 import g711_roundtrip

    if name == "mp3":
        return _decode(_encode(y, "MP3", "MPEG_LAYER_III", 0.84))  # 32 kbps CBR
    if name == "opus":
        return _decode(_encode(y, "OGG", "OPUS", 0.96))  # 16 kbps
    if name == "g711":
        return g711_roundtrip(resample(y, SR, 8000), "mu").astype(np.float64), 8000
    if name == "resample":
        return resample(y, SR, 44100), 44100
    if name == "level":
        return 0.1 * y, SR
    if name == "none":
        return y, SR
    raise ValueError(name)


def _median(fn, repeat: int) -> float:
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def bench_fingerprint(repeat: int, tmp: Path) -> dict:
    import soundfile as sf

    from voiceguard.provenance.check import _read
    from voiceguard.provenance.fingerprint import fingerprint

    y = np.concatenate([_load(p) for p in CLIPS])
    y = np.tile(y, int(np.ceil(60 * SR / y.size)))[: 60 * SR]
    sf.write(tmp / "60s.flac", y, SR)
    t_arr = _median(lambda: fingerprint(y, SR, query=True), repeat)
    t_file = _median(lambda: _read(tmp / "60s.flac", None, None, query=True), repeat)
    return {"audio_s": 60.0, "fingerprint_s": t_arr, "fingerprint_rtf": 60.0 / t_arr,
            "file_read_and_fingerprint_s": t_file, "file_rtf": 60.0 / t_file}


def _pool(paths: list[Path]) -> list:
    from voiceguard.provenance.fingerprint import fingerprint

    return [fingerprint(_load(p), SR) for p in paths]


def build_registry(db: Path, n: int, duration: float, queries: list[Path], pool: list, rng) -> dict:
    from voiceguard.provenance.check import register
    from voiceguard.provenance.fingerprint import HOP_S, VERSION, Fingerprint
    from voiceguard.provenance.registry import Original, Registry

    chunk = int(round(2.0 / HOP_S))
    frames = int(round(duration / HOP_S))
    bits = np.concatenate([f.bits for f in pool])
    level = np.concatenate([f.level_db for f in pool])
    t0 = time.perf_counter()
    with Registry(db) as reg:
        key = reg.key
        batch = []
        for i in range(n - len(queries)):
            starts = rng.integers(0, bits.size - chunk, size=int(np.ceil(frames / chunk)))
            masks = np.zeros(starts.size, np.uint32)
            for _ in range(3):
                masks |= np.left_shift(np.uint32(1), rng.integers(0, 32, size=starts.size).astype(np.uint32))
            b = np.concatenate([bits[s:s + chunk] ^ m for s, m in zip(starts, masks)])[:frames]
            lv = np.concatenate([level[s:s + chunk] for s in starts])[:frames]
            fp = Fingerprint(b.astype(np.uint32), lv.astype(np.int8), duration)
            rec = Original(0, uuid.uuid4().hex, f"synthetic-{i:05d}", "", "2026-01-01T00:00:00+00:00", None,
                           hashlib.sha256(str(i).encode()).hexdigest(), int(duration * 8000), 8000, 1, VERSION,
                           key.key_id, b"", fp.to_bytes())
            rec.signature = key.sign(rec.message())
            batch.append(rec)
            if len(batch) == 500:
                reg._insert(batch)  # one transaction per 500 (the CLI commits each original on its own)
                batch = []
        if batch:
            reg._insert(batch)
        for q in queries:
            register(q, reg)
        rows = reg._db.execute("SELECT COUNT(*) FROM provenance_index").fetchone()[0]
        n_orig = len(reg)
    reg.store.close()
    return {"originals": n_orig, "duration_s_each": duration, "index_rows": int(rows),
            "database_mb": db.stat().st_size / 2 ** 20, "build_s": time.perf_counter() - t0}


def bench_lookup(db: Path, queries: list[Path], unrelated: list[Path], excerpt_s: float) -> dict:
    import soundfile as sf

    from voiceguard.provenance import check
    from voiceguard.provenance.check import _read
    from voiceguard.provenance.registry import Registry

    out: dict = {"found": 0, "queries": len(queries), "false_matches": 0, "unrelated": len(unrelated)}
    t_fp, t_sql, t_total, t_unrel = [], [], [], []
    t = time.perf_counter()
    Registry(db, create=False).close()  # what each command pays: the store's open checks (quick_check)
    out["open_ms"] = 1000 * (time.perf_counter() - t)
    with Registry(db, create=False) as reg:
        orig_lookup = reg.lookup

        def timed_lookup(keys, frames):
            t = time.perf_counter()
            r = orig_lookup(keys, frames)
            t_sql.append(time.perf_counter() - t)
            return r

        reg.lookup = timed_lookup  # type: ignore[method-assign]
        with tempfile.TemporaryDirectory() as td:
            for q in queries:
                y = _load(q)
                a = int((y.size - excerpt_s * SR) // 2)
                z, zsr = channel("mp3", y[a:a + int(excerpt_s * SR)])
                p = Path(td) / "q.wav"
                sf.write(p, z, zsr)
                t = time.perf_counter()
                _read(p, None, None, query=True)
                t_fp.append(time.perf_counter() - t)
                t = time.perf_counter()
                res = check(p, reg, c2pa=False)
                t_total.append(time.perf_counter() - t)
                out["found"] += res.original is not None and res.original.name == q.name
            for q in unrelated:
                t = time.perf_counter()
                res = check(q, reg, c2pa=False)
                t_unrel.append(time.perf_counter() - t)
                out["false_matches"] += res.original is not None
    med = statistics.median
    out.update({"excerpt_s": excerpt_s, "fingerprint_ms": 1000 * med(t_fp), "index_lookup_ms": 1000 * med(t_sql),
                "check_total_ms": 1000 * med(t_total), "check_total_max_ms": 1000 * max(t_total),
                "check_unrelated_ms": 1000 * med(t_unrel) if t_unrel else None})
    return out


def bench_accuracy(folder: Path, rng, limit: int) -> dict:
    from voiceguard.provenance import Registry, check, register

    files = _files(folder, 8.0, 40.0)
    rng.shuffle(files)
    originals, unrelated = files[:limit], files[limit:limit + limit // 2]
    res: dict = {"originals": len(originals), "unaltered_channels": {}, "replaced_3s": {}, "inserted_2s": [],
                 "removed_2s": [], "unrelated": {"n": len(unrelated), "matched": 0}, "failures": []}
    with tempfile.TemporaryDirectory() as td, Registry(Path(td) / "acc.db") as reg:
        import soundfile as sf

        for p in originals:
            register(p, reg)
        tmp = Path(td) / "copy.wav"

        def run(y, sr):
            sf.write(tmp, y, sr, subtype="FLOAT")
            return check(tmp, reg, c2pa=False)

        for i, p in enumerate(originals):
            y = _load(p)
            for ch in ("mp3", "opus", "g711", "resample", "level", "trim"):
                z, zsr = (y[int(1.3 * SR):-int(0.7 * SR)], SR) if ch == "trim" else channel(ch, y)
                r = run(z, zsr)
                ok = r.original is not None and r.original.name == p.name and r.status == "match"
                res["unaltered_channels"].setdefault(ch, []).append(ok)
                if not ok:
                    res["failures"].append({"file": p.name, "case": ch, "status": r.status,
                                            "segments": [(s["kind"], round(s["start_s"], 2), round(s["end_s"], 2))
                                                         for s in r.segments]})
            other = _load(originals[(i + 1) % len(originals)])
            t0 = float(rng.uniform(1.0, y.size / SR - 4.0))
            a = int(t0 * SR)
            src = int(rng.integers(0, other.size - 3 * SR))
            piece = other[src:src + 3 * SR]
            z = y.copy()
            z[a:a + 3 * SR] = piece * (np.std(y[a:a + 3 * SR]) / (np.std(piece) + 1e-9))
            for ch in ("none", "mp3", "opus", "g711"):
                r = run(*channel(ch, z))
                segs = r.segments
                err = (max(abs(segs[0]["start_s"] - t0), abs(segs[0]["end_s"] - t0 - 3.0))
                       if len(segs) == 1 and segs[0]["kind"] == "replaced" else None)
                res["replaced_3s"].setdefault(ch, []).append(err)
                if err is None or err > 0.5:
                    res["failures"].append({"file": p.name, "case": f"replaced/{ch}", "t0": round(t0, 2),
                                            "segments": [(s["kind"], round(s["start_s"], 2), round(s["end_s"], 2))
                                                         for s in segs]})
            t1 = float(rng.uniform(1.0, y.size / SR - 3.0))
            b = int(t1 * SR)
            r = run(np.concatenate([y[:b], piece[:2 * SR] * 0.5, y[b:]]), SR)
            segs = r.segments
            res["inserted_2s"].append(max(abs(segs[0]["start_s"] - t1), abs(segs[0]["end_s"] - t1 - 2.0))
                                      if len(segs) == 1 and segs[0]["kind"] == "inserted" else None)
            r2 = run(np.concatenate([y[:b], y[b + 2 * SR:]]), SR)
            segs2 = r2.segments
            res["removed_2s"].append(max(abs(segs2[0]["start_s"] - t1), abs(segs2[0]["original_start_s"] - t1),
                                         abs(segs2[0]["original_end_s"] - t1 - 2.0))
                                     if len(segs2) == 1 and segs2[0]["kind"] == "removed" else None)
            for case, got, e in (("inserted", segs, res["inserted_2s"][-1]), ("removed", segs2, res["removed_2s"][-1])):
                if e is None or e > 0.5:
                    res["failures"].append({"file": p.name, "case": case, "t1": round(t1, 2), "segments": [
                        (s["kind"], round(s["start_s"], 2), round(s["end_s"], 2)) for s in got]})
        for p in unrelated:
            res["unrelated"]["matched"] += check(p, reg, c2pa=False).original is not None

    def errs(v: list) -> dict:
        ok = [e for e in v if e is not None]
        return {"n": len(v), "found": len(ok), "within_0.5s": sum(e <= 0.5 for e in ok),
                "median_error_s": statistics.median(ok) if ok else None, "max_error_s": max(ok) if ok else None}

    res["unaltered_channels"] = {k: {"n": len(v), "match": sum(v)} for k, v in res["unaltered_channels"].items()}
    res["replaced_3s"] = {k: errs(v) for k, v in res["replaced_3s"].items()}
    res["inserted_2s"], res["removed_2s"] = errs(res["inserted_2s"]), errs(res["removed_2s"])
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="registered originals (0: skip the look-up benchmark)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per registered original")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--excerpt", type=float, default=10.0, help="seconds of each query copy")
    ap.add_argument("--pool", type=Path, default=None, help="speech folder for the synthetic originals")
    ap.add_argument("--accuracy", type=Path, default=None, metavar="DIR", help="also measure accuracy on DIR")
    ap.add_argument("--accuracy-originals", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    shared = ROOT.parent / "shared" / "data" / "speech"
    pool_dir = args.pool or (shared if shared.is_dir() else None)
    results: dict = {"machine": os.uname().machine, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        results["fingerprint"] = bench_fingerprint(args.repeat, tmp)
        print(f"fingerprint: {results['fingerprint']['fingerprint_rtf']:.0f}x real time (array), "
              f"{results['fingerprint']['file_rtf']:.0f}x (FLAC file: decode + hash + fingerprint)", flush=True)
        if args.n:
            files = _files(pool_dir, 12.0, 60.0) if pool_dir is not None else []
            rng.shuffle(files)
            queries = files[: args.queries] if files else CLIPS[:1]
            unrelated = files[args.queries: 2 * args.queries]
            pool = _pool(files[2 * args.queries: 2 * args.queries + 200] if files else CLIPS)
            results["registry"] = build_registry(tmp / "bench.db", args.n, args.duration, queries, pool, rng)
            print(f"registry: {results['registry']['originals']} originals of {args.duration:g} s, "
                  f"{results['registry']['index_rows']} index rows, {results['registry']['database_mb']:.0f} MB, "
                  f"built in {results['registry']['build_s']:.0f} s", flush=True)
            lk = bench_lookup(tmp / "bench.db", queries, unrelated, args.excerpt)
            results["lookup"] = lk
            print(f"look-up ({args.excerpt:g} s MP3 copies): found {lk['found']}/{lk['queries']}, "
                  f"false matches {lk['false_matches']}/{lk['unrelated']}; median fingerprint "
                  f"{lk['fingerprint_ms']:.0f} ms, index look-up {lk['index_lookup_ms']:.0f} ms, whole check "
                  f"{lk['check_total_ms']:.0f} ms (max {lk['check_total_max_ms']:.0f}), unrelated "
                  f"{lk['check_unrelated_ms'] or 0:.0f} ms; opening the database {lk['open_ms']:.0f} ms", flush=True)
    if args.accuracy is not None:
        acc = bench_accuracy(args.accuracy, rng, args.accuracy_originals)
        results["accuracy"] = acc
        print(json.dumps({k: v for k, v in acc.items() if k != "failures"}, indent=1))
        for f in acc["failures"]:
            print("  failure:", f)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
