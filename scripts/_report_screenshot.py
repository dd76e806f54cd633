"""Make docs/report-screenshot.png (run by scripts/make-report-screenshot).

Builds ``spliced_call.wav`` (examples/bonafide_librispeech_1898.flac, then
examples/spoof_espeak.flac, then the real clip again, at 16 kHz), writes the report of it
and of the four bundled examples with ``voiceguard report``, and screenshots the page in
headless Chromium from the top through the spliced clip's card, 900 CSS px wide. With
``--html PATH`` the report itself is kept too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "report-screenshot.png"))
    ap.add_argument("--html", default=None, help="also keep the report HTML here")
    args = ap.parse_args(argv)

    from voiceguard.audio import load_mono
    from voiceguard.cli import main as voiceguard
    from voiceguard.report.browser import render

    out = Path(args.output).resolve()
    html = Path(args.html).resolve() if args.html else None
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="vg-screenshot-") as tmp:
        clips = Path(tmp) / "examples"
        clips.mkdir()
        for p in sorted(EXAMPLES.glob("*.flac")):
            shutil.copyfile(p, clips / p.name)
        real, _ = load_mono(EXAMPLES / "bonafide_librispeech_1898.flac", 16000)
        fake, _ = load_mono(EXAMPLES / "spoof_espeak.flac", 16000)
        sf.write(clips / "spliced_call.wav", np.concatenate([real, fake, real]), 16000, subtype="PCM_16")
        html = html or Path(tmp) / "report.html"
        # names as a user of a clone would type them (no path of this machine in the picture)
        inputs = ["examples/spliced_call.wav"] + [f"examples/{p.name}" for p in sorted(EXAMPLES.glob("*.flac"))]
        os.chdir(tmp)
        try:
            rc = voiceguard(["report", *inputs, "-o", str(html), "--threads", "1",
                             "--title", "voiceguard report: the bundled examples"])
        finally:
            os.chdir(here)
        if rc not in (0, 1):
            return rc
        shot = render(html, width=900, height=900, until="#rec-1")
        if shot.errors or shot.requests:
            print(f"error: the browser reported {shot.errors + shot.requests}", file=sys.stderr)
            return 2
        out.write_bytes(shot.screenshot)
    print(f"wrote {out} ({len(shot.screenshot)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
