"""False alarms on real speech at the default threshold, as WAV and as low-bitrate MP3.

What a new user tries first: their own real recordings, often compressed. This scores
every bona fide clip of ``../shared/data/speech-domains`` (16 recording domains) and the
LibriSpeech clips of ``../shared/data/speech`` with each model, once as the original file
and once re-encoded as MP3 at ``--kbps`` (LAME through ffmpeg, constant bit rate), and
reports the share called spoof at the model's default threshold. Clips whose speaker or
source was in a model's training data are reported apart from held-out ones (read from
the corpus build's ``build.json``).

    python benchmarks/false_alarms.py --model fast --model default --build runs/corpus/build.json \
        -o benchmarks/results/false_alarms.json
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def clips() -> list[dict]:
    out = []
    for corpus, only in (("speech-domains", None), ("speech", "resemblyzer_librispeech")):
        table = SHARED / corpus / "MANIFEST.tsv"
        with table.open(newline="", encoding="utf-8") as f:
            for rec in csv.DictReader(f, delimiter="\t"):
                if rec["label"] != "bonafide" or (only and rec["source"] != only):
                    continue
                speaker = rec.get("speaker") or f"unknown_{rec['source']}"
                out.append({"path": str(SHARED / corpus / rec["path"]), "corpus": corpus, "source": rec["source"],
                            "speaker": speaker})
    return out


def to_mp3(src: str, dst: str, kbps: int) -> None:
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", src,
                    "-c:a", "libmp3lame", "-b:a", f"{kbps}k", dst], check=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True, help="model name or config (repeatable)")
    p.add_argument("--build", help="corpus build.json (speaker splits): marks trained-on clips")
    p.add_argument("--kbps", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("-o", "--out")
    args = p.parse_args()
    from voiceguard.detect.detector import Detector

    items = clips()
    split = {}
    if args.build:
        split = json.loads(Path(args.build).read_text())["speaker_splits"]
    tmp = Path(tempfile.mkdtemp(prefix="vg-fa-"))
    for i, c in enumerate(items):
        c["mp3"] = str(tmp / f"{i:04d}.mp3")
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(lambda c: to_mp3(c["path"], c["mp3"], args.kbps), items))
    results = {}
    for model in args.model:
        det = Detector(model, threads=1)

        def verdicts(c: dict) -> tuple[str, str]:
            return det.score(c["path"]).verdict, det.score(c["mp3"]).verdict

        with ThreadPoolExecutor(args.threads) as pool:
            got = list(pool.map(verdicts, items))
        rows = {}
        for group in ("all", "held-out", "trained-on"):
            for corpus in ("speech-domains", "speech"):
                sel = [k for k, c in enumerate(items) if c["corpus"] == corpus and (
                    group == "all" or (split.get(c["speaker"], "train") == "train") == (group == "trained-on"))]
                if not sel:
                    continue
                scored = [k for k in sel if got[k][0] != "no_speech"]
                scored_mp3 = [k for k in sel if got[k][1] != "no_speech"]
                rows[f"{corpus}/{group}"] = {
                    "clips": len(sel),
                    "wav_spoof": sum(got[k][0] == "spoof" for k in sel), "wav_scored": len(scored),
                    "mp3_spoof": sum(got[k][1] == "spoof" for k in sel), "mp3_scored": len(scored_mp3),
                }
        results[det.version] = rows
        for key, r in rows.items():
            print(f"{det.version:32s} {key:28s} WAV {r['wav_spoof']:3d}/{r['wav_scored']:3d} "
                  f"MP3-{args.kbps}k {r['mp3_spoof']:3d}/{r['mp3_scored']:3d}")
    shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"kbps": args.kbps, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
