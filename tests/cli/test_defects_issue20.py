"""Defects fixed with the restructuring (issue 20): thresholds in the help read from the
model, a broken pipe is not a finding, thread settings that do not leak, a thread-safe
speaker-encoder cache, no fake pkg_resources, causes kept on re-raised errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from voiceguard.cli import build_parser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _help(command: str) -> str:
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    return " ".join(sub.format_help().split())


@pytest.mark.parametrize("command", ["score", "verify", "enroll", "report", "provenance", "batch"])
def test_threshold_help_states_the_shipped_models_thresholds(command: str) -> None:
    from voiceguard.detect.model import shipped_config

    text = _help(command)
    for name in ("default", "fast"):
        assert f"{shipped_config(name)['threshold']:g}" in text
    assert "default 0.5: spoof" not in text and "the detector's, 0.5" not in text


def test_detector_docstring_does_not_claim_a_0_5_default() -> None:
    from voiceguard.detect import Detector
    from voiceguard.detect.model import shipped_config

    doc = " ".join((Detector.__doc__ or "").split())
    assert f"{shipped_config('default')['threshold']:g}" in doc


def test_a_broken_pipe_is_not_a_finding() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "voiceguard", "score", "--model", "fast", "--format", "jsonl",
                             str(EXAMPLES / "spoof_espeak.flac"), str(EXAMPLES / "bonafide_librispeech_1898.flac")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first row
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141, err.decode()
    assert b"Traceback" not in err


def test_detector_threads_do_not_change_the_process() -> None:
    import numpy as np
    import torch

    from voiceguard.detect import Detector

    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    det = Detector("fast", threads=want)
    assert torch.get_num_threads() == before
    seen = []
    orig = det.backend.score_chunk

    def spy(y, windows):
        seen.append(torch.get_num_threads())
        return orig(y, windows)

    det.backend.score_chunk = spy
    rng = np.random.default_rng(0)
    det.score(0.1 * rng.standard_normal(16000 * 3), 16000)
    det.window_scores(0.1 * rng.standard_normal(16000 * 2))
    assert seen and set(seen) == {want}  # while its model runs
    assert torch.get_num_threads() == before  # and not after


def test_speaker_encoder_threads_do_not_change_the_process() -> None:
    import numpy as np
    import torch

    from voiceguard.voiceprint.encoder import GE2EEncoder

    before = torch.get_num_threads()
    enc = GE2EEncoder(threads=1 if before != 1 else 2)
    enc.embed_mels(np.zeros((200, 40), np.float32))
    assert torch.get_num_threads() == before


def test_default_encoder_is_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceguard.voiceprint import encoder

    built = []

    class Slow:
        def __init__(self, threads=None):
            time.sleep(0.05)  # a load long enough for racing threads to overlap
            built.append(self)

    monkeypatch.setattr(encoder, "GE2EEncoder", Slow)
    monkeypatch.setattr(encoder, "_DEFAULT", {})
    got = []
    threads = [threading.Thread(target=lambda: got.append(encoder.default_encoder(7))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len(got) == 8 and all(g is built[0] for g in got)


def test_no_fake_pkg_resources_in_the_process() -> None:
    # pkg_resources made unimportable, as with setuptools >= 81: the DSP vocoders that need it
    # say so, the others work, and nothing pretends to be pkg_resources
    code = """
import importlib.abc, sys, json
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "pkg_resources":
            raise ModuleNotFoundError("No module named 'pkg_resources'", name="pkg_resources")
sys.meta_path.insert(0, Block())
from voiceguard.synthesis import vocoders
from voiceguard.errors import VoiceguardError
have = vocoders.available_vocoders()
try:
    vocoders._import_pyworld()
    msg = ""
except VoiceguardError as exc:
    msg = str(exc)
print(json.dumps({"have": have, "msg": msg, "fake": "pkg_resources" in sys.modules}))
"""
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout)
    assert not out["fake"]
    assert "voc-gl-mel" in out["have"] and "voc-lpc" in out["have"] and "voc-world" not in out["have"]
    assert "setuptools" in out["msg"]
    # where setuptools < 81 is installed (the data extra pins it), the real module serves
    from voiceguard.synthesis.vocoders import available_vocoders

    available_vocoders()
    mod = sys.modules.get("pkg_resources")
    assert mod is None or getattr(mod, "__file__", None)


def test_errors_keep_their_cause_and_print_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from voiceguard.cli import main
    from voiceguard.detect import Detector
    from voiceguard.errors import ModelError

    bad = tmp_path / "model.json"
    bad.write_text("{not json")
    with pytest.raises(ModelError) as info:
        Detector(bad)
    assert isinstance(info.value.__cause__, json.JSONDecodeError)
    rc = main(["score", "--model", str(bad), str(EXAMPLES / "spoof_espeak.flac")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("voiceguard: error: ") and "Traceback" not in err
