"""What a new user hit after the quickstart (issue 13), each fixed and kept fixed here.

Exit codes and their one definition, thread counts, table alignment, truncated and empty
files, ``evaluate`` with relative manifest paths, ``serve`` without its extra and on a
busy port, enrollment similarities, command descriptions, the quickstart's labels and
the shipped model config's paths. The HTTP items are in ``test_service_errors.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard import audio, exit_codes
from voiceguard.cli import build_parser, main
from voiceguard.errors import AudioReadError, TruncatedAudioWarning

ROOT = Path(__file__).resolve().parents[2]
SPEECH = Path(__file__).resolve().parents[1] / "assets" / "librispeech_118-121721-0000_3s.flac"
BONAFIDE = ROOT / "examples" / "bonafide_librispeech_1898.flac"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    y, sr = audio.load_mono(SPEECH)
    p = tmp_path / "good.wav"
    sf.write(p, y, sr)
    return p


# -- exit codes ---------------------------------------------------------------------------


def test_exit_codes_are_defined_once_and_documented(capsys) -> None:
    assert [exit_codes.status(f, e) for f, e in [(0, 0), (0, 3), (1, 0), (2, 5)]] == [0, 2, 1, 1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert exit_codes.HELP in readme  # the README quotes the one definition verbatim
    for argv in (["--help"], ["score", "--help"], ["verify", "--help"], ["report", "--help"]):
        assert main(argv) == 0
        assert exit_codes.HELP in capsys.readouterr().out, argv


def test_spoof_found_wins_over_errors(good: Path, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\xff\xfb\x90garbage" * 50)
    # --threshold 0 makes every scored file a spoof, whatever the model
    rc, out, _ = _run(["score", "--threshold", "0", "--format", "jsonl", str(broken), str(good)], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert "error" in rows[0] and rows[1]["verdict"] == "spoof"
    assert rc == exit_codes.FOUND == 1
    rc, _, _ = _run(["score", "--threshold", "1", str(broken), str(good)], capsys)
    assert rc == exit_codes.ERROR == 2  # errors only: nothing found


@pytest.mark.parametrize("value", ["0", "-2", "two"])
@pytest.mark.parametrize("command", [["score", "x.wav"], ["verify", "alice", "x.wav"], ["enroll", "a", "x.wav"],
                                     ["evaluate", "m.tsv", "--out", "o"], ["train", "m.tsv", "--out", "o"],
                                     ["report", "x.wav"], ["serve", "--http", "127.0.0.1:0", "--workers"]])
def test_thread_counts_must_be_positive(command: list[str], value: str, capsys) -> None:
    argv = command + ([value] if command[-1] == "--workers" else ["--threads", value])
    rc, out, err = _run(argv, capsys)
    assert rc == 2 and "Traceback" not in err
    assert err.count("error:") == 1 and "positive integer" in err.strip().splitlines()[-1]


# -- table output ----------------------------------------------------------------------------


def test_table_stays_aligned_with_long_paths(good: Path, tmp_path: Path, capsys) -> None:
    deep = tmp_path / ("a_rather_long_folder_name_" * 4) / "and_an_even_longer_recording_name_2024-06-01.wav"
    deep.parent.mkdir(parents=True)
    deep.write_bytes(good.read_bytes())
    rc, out, _ = _run(["score", str(good), str(deep), str(tmp_path / "missing.wav")], capsys)
    lines = out.splitlines()
    assert len(str(deep)) > 100
    col = lines[0].index("VERDICT")
    for line in lines[1:4]:
        assert line[col - 2: col] == "  " and line[col] != " ", line  # every verdict starts under VERDICT
    assert lines[3][col:].startswith("error")


# -- audio files -------------------------------------------------------------------------------


def test_truncated_wav_is_reported(tmp_path: Path, capsys) -> None:
    y, sr = audio.load_mono(BONAFIDE)
    full = tmp_path / "full.wav"
    sf.write(full, y, sr, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    data = full.read_bytes()
    cut.write_bytes(data[: 44 + (len(data) - 44) // 2])  # header says 6 s, 3 s present
    with pytest.warns(TruncatedAudioWarning, match=r"announces 6\.0 s of audio but holds 3\.0 s"):
        z, _ = audio.load(cut)
    assert len(z) == len(y) // 2
    assert audio.check_file(full) == []
    rc, out, err = _run(["score", "--format", "jsonl", str(cut), str(full)], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert "truncated" in rows[0]["warnings"][0] and "warnings" not in rows[1]
    assert "warning" in err and "cut.wav: truncated file" in err
    # a streaming writer's "length unknown" header is not a truncation
    stream = bytearray(data)
    stream[40:44] = b"\xff\xff\xff\xff"
    (tmp_path / "stream.wav").write_bytes(bytes(stream))
    assert audio.check_file(tmp_path / "stream.wav") == []


def test_empty_file_says_zero_bytes(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioReadError, match=r"empty \(0 bytes\)"):
        audio.load(empty)
    rc, out, err = _run(["score", str(empty)], capsys)
    assert rc == 2 and "0 bytes" in out


# -- evaluate ----------------------------------------------------------------------------------


def test_evaluate_explains_relative_paths_and_shows_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(5):
        sf.write(clips / f"c{i}.wav", np.zeros(1600), 16000)
    sub = tmp_path / "lists"
    sub.mkdir()
    # paths written relative to the current folder (tmp_path), but the manifest lives in lists/
    (sub / "m.csv").write_text("path,label\n" + "".join(f"clips/c{i}.wav,{'bonafide' if i % 2 else 'spoof'}\n"
                                                        for i in range(5)))
    monkeypatch.chdir(tmp_path)
    rc, out, err = _run(["evaluate", "lists/m.csv", "--out", "ev", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "5 errors, the first:" in err and "c0.wav: no such file" in err and "c2.wav" in err
    assert "c4.wav" not in err and "and 2 more" in err  # the first few, not all
    assert "resolve against the manifest's own folder" in err and str(sub) in err


# -- serve -------------------------------------------------------------------------------------


def test_serve_without_the_extra_says_what_to_install(monkeypatch, capsys) -> None:
    for mod in ("uvicorn", "fastapi"):
        monkeypatch.setitem(sys.modules, mod, None)  # as if the serve extra were not installed
    rc, out, err = _run(["serve", "--http", "127.0.0.1:0"], capsys)
    # this project's extra, never the unrelated 'voiceguard' on PyPI (issue 23)
    assert rc == 2 and f"-e '{ROOT}[serve]'" in err and "uvicorn" in err and "Traceback" not in err
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    serve_section = readme[readme.index("## Call-centre service"):].split("\n## ", 1)[0]
    assert "pip install -c constraints.txt -e '.[serve]'" in serve_section


@pytest.mark.skipif(importlib.util.find_spec("uvicorn") is None, reason="needs the serve extra")
def test_serve_on_a_busy_port_is_one_message(tmp_path: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        env = {**os.environ, "VOICEGUARD_HOME": str(tmp_path)}
        env.pop("VOICEGUARD_TOKEN", None)
        p = subprocess.run([sys.executable, "-m", "voiceguard", "serve", "--http", f"127.0.0.1:{port}",
                            "--audiosocket", "127.0.0.1:0", "--workers", "1"],
                           capture_output=True, text=True, timeout=120, env=env)
    finally:
        busy.close()
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines == [f"voiceguard: error: cannot listen for the HTTP API on 127.0.0.1:{port}: the port is already "
                     "in use (another voiceguard serve, or another program, listens there); choose another port "
                     "or stop that program"], p.stderr


def test_listeners_bind_all_or_nothing(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from voiceguard.service.listen import ListenError, bind, bind_listeners

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    try:
        with pytest.raises(ListenError, match="cannot listen for AudioSocket on 127.0.0.1:.*already in use"):
            bind("127.0.0.1", busy.getsockname()[1], "AudioSocket")
        cfg = SimpleNamespace(audiosocket=("127.0.0.1", free), http=("127.0.0.1", busy.getsockname()[1]))
        with pytest.raises(ListenError, match="the HTTP API"):
            bind_listeners(cfg)
        again = bind("127.0.0.1", free, "AudioSocket")  # the AudioSocket port was let go again
        again[0].close()
    finally:
        busy.close()
    with pytest.raises(ListenError, match="unknown host"):
        bind("no-such-host.invalid", 0, "AudioSocket")


# -- enrollment ---------------------------------------------------------------------------------


def test_enroll_similarities_match_speakers_show(tmp_path: Path, monkeypatch, capsys, speech) -> None:
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    a = tmp_path / "a.wav"
    sf.write(a, np.concatenate([speech, np.zeros(4000), 0.8 * speech]), 16000)
    db = str(tmp_path / "vp.db")
    # two different people (forced): the with-the-others and with-the-voiceprint similarities differ
    rc, out, err = _run(["enroll", "mixed", str(a), str(BONAFIDE), "--db", db, "--force", "--allow-spoof",
                         "--threads", "1"], capsys)
    assert rc == 0, err
    printed = [float(v) for v in re.findall(r"similarity with the voiceprint ([\d.]+)", out)]
    others = [float(v) for v in re.findall(r"with the other clips ([\d.]+)", out)]
    rc, show, _ = _run(["speakers", "show", "mixed", "--db", db], capsys)
    stored = [c["similarity"] for c in json.loads(show)["clips"]]
    assert len(printed) == 2 and printed == pytest.approx(stored, abs=6e-4)
    assert all(o < p - 0.01 for o, p in zip(others, printed))
    rc, js, _ = _run(["enroll", "mixed2", str(a), str(BONAFIDE), "--db", db, "--force", "--allow-spoof", "--format", "json",
                      "--threads", "1"], capsys)
    rc, show2, _ = _run(["speakers", "show", "mixed2", "--db", db], capsys)
    assert [c["similarity"] for c in json.loads(js)["clips"]] == [c["similarity"] for c in json.loads(show2)["clips"]]


# -- help texts ---------------------------------------------------------------------------------


def test_commands_have_descriptions_and_train_options_have_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        assert p.description and len(p.description) > 40, name
    undocumented = [a.dest for a in sub.choices["train"]._actions if a.dest != "help" and not a.help]
    assert undocumented == []
    for name in ("evaluate", "features", "score", "report"):
        assert [a.dest for a in sub.choices[name]._actions if a.dest != "help" and not a.help] == [], name


# -- quickstart ----------------------------------------------------------------------------------


def _quickstart():
    spec = importlib.util.spec_from_file_location("quickstart_examples", ROOT / "scripts" / "_quickstart_examples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quickstart_prints_true_labels_and_owns_up_to_mistakes(capsys) -> None:
    qs = _quickstart()
    labels = {r["file"]: r["label"] for r in qs.read_labels()}
    assert sorted(labels) == sorted(p.name for p in (ROOT / "examples").glob("*.flac"))
    assert qs.main([]) == 0
    out = capsys.readouterr().out
    for f, label in labels.items():
        row = next(ln for ln in out.splitlines() if ln.startswith(f))
        assert row.split()[1] == label
        verdict = row.split()[2]
        assert (row.split()[-1] == "yes") == (verdict == label), row
    # every mistake is named in plain words (forced here: nothing is spoof at threshold 1)
    assert qs.main(["--threshold", "1"]) == 0
    out = capsys.readouterr().out
    assert "got 1 of 4 clips right" in out and out.count("missed, a synthetic clip judged real") == 6
    assert qs.main(["--threshold", "0"]) == 0
    assert "false alarm, real speech judged synthetic" in capsys.readouterr().out
    assert "_quickstart_examples.py" in (ROOT / "scripts" / "quickstart").read_text()


# -- the shipped model config ---------------------------------------------------------------------


def test_shipped_configs_record_no_machine_paths() -> None:
    def strings(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from strings(v)
        elif isinstance(x, list):
            for v in x:
                yield from strings(v)
        elif isinstance(x, str):
            yield x

    for cfg in sorted((ROOT / "models").glob("*.json")):
        bad = [s for s in strings(json.loads(cfg.read_text())) if os.path.isabs(s) or re.match(r"^[A-Za-z]:\\", s)]
        assert bad == [], f"{cfg.name} records paths of the machine it was made on: {bad}"
