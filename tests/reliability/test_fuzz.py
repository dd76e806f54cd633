"""The fuzz harnesses (tests/fuzz/, docs/reliability.md): replay and a brief run of each.

* Every committed seed and regression input goes through its Python harness in this
  process (the regression inputs are the findings of earlier fuzzing: each failed before
  its fix).
* Each harness then fuzzes briefly through ``scripts/fuzz TARGET --seconds 2`` with a
  throw-away working corpus: atheris for the Python targets, libFuzzer with ASan and UBSan
  for the C targets (which also replays their regression inputs first).
* One test per finding checks the user-facing behaviour of its fix by name.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "tests" / "fuzz"

def _runner():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vg_fuzz_run", FUZZ / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # puts tests/fuzz on sys.path for the harness modules
    return mod


_RUN = _runner()
TARGETS, replay = _RUN.TARGETS, _RUN.replay

C_TARGETS = ("fft", "lfcc", "cqcc")
BRIEF_S = 2


def _inputs(target: str) -> list[str]:
    return [str(d) for d in (FUZZ / "corpus" / target, FUZZ / "regressions" / target) if d.is_dir()]


@pytest.mark.parametrize("target", TARGETS)
def test_seeds_and_regressions_replay(target):
    n = replay(target, _inputs(target))
    assert n >= 2


def test_every_target_has_seeds():
    for target in (*TARGETS, *C_TARGETS):
        assert len(list((FUZZ / "corpus" / target).iterdir())) >= 2, target


def _clang_available() -> bool:
    if os.geteuid() == 0 and shutil.which("apt-get"):
        return True  # scripts/fuzz installs it
    return any(shutil.which(c) for c in ("clang", "clang-14", "clang-15", "clang-16", "clang-17", "clang-18"))


@pytest.mark.parametrize("target", (*TARGETS, *C_TARGETS))
def test_fuzz_briefly(target, tmp_path):
    if target in C_TARGETS and not _clang_available():
        pytest.skip("the C fuzz targets need clang with libFuzzer (apt-get install clang libclang-rt-dev)")
    env = dict(os.environ, VG_FUZZ_PYTHON=sys.executable)
    p = subprocess.run([str(ROOT / "scripts" / "fuzz"), target, "--seconds", str(BRIEF_S), "--work", str(tmp_path),
                        "--seed", "1"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-6000:]
    log = (tmp_path / "logs" / f"{target}.log").read_text(errors="replace")
    assert "stat::number_of_executed_units" in log  # it really fuzzed
    # the summary names the seed the run used (issue 23: long runs draw a new one, a finding's
    # search is repeated with --seed N)
    assert re.search(rf"^{target}\s+\S+\s+\d+s\s+\S+ execs\s+seed 1\s", p.stdout, re.M), p.stdout[-2000:]


# -- one test per finding ---------------------------------------------------------------


def test_manifest_that_is_not_utf8_is_a_manifest_error(tmp_path):
    from voiceguard.data.manifest import ManifestError, read_manifest

    data = (FUZZ / "regressions" / "manifest" / "not_utf8_protocol").read_bytes()[1:]
    path = tmp_path / "protocol.txt"
    path.write_bytes(data)
    with pytest.raises(ManifestError, match="is not UTF-8 text"):
        read_manifest(path, audio_dir=tmp_path)


def test_extra_manifest_column_with_a_tab_is_refused(tmp_path):
    """A CSV cell or header may hold a tab; written back as TSV it would shift every column."""
    from voiceguard.data.manifest import ManifestError, read_manifest

    path = tmp_path / "list.csv"
    path.write_bytes((FUZZ / "regressions" / "manifest" / "tab_in_extra_column").read_bytes()[1:])
    with pytest.raises(ManifestError, match="contains a tab, newline or NUL"):
        read_manifest(path)


def test_manifest_cells_with_quotes_survive_the_round_trip(tmp_path):
    """Issue 23: a cell holding double quotes was written raw into the TSV and read back as
    a quoted field spanning rows (a different number of rows); a NUL byte is refused."""
    from voiceguard.data.manifest import ManifestError, read_manifest, read_table

    path = tmp_path / "list.csv"
    path.write_bytes((FUZZ / "regressions" / "manifest" / "quoted_cell_roundtrip").read_bytes()[1:])
    m = read_table(path, delimiter=",")
    assert [r.speaker for r in m] == ["-", '""x spoof', "bonafide"]
    m.write(tmp_path / "again.tsv")
    again = read_manifest(tmp_path / "again.tsv")
    assert [(r.path, r.label, r.speaker) for r in again] == [(r.path, r.label, r.speaker) for r in m.with_root(tmp_path)]
    path.write_bytes((FUZZ / "regressions" / "manifest" / "quotes_and_nul_roundtrip").read_bytes()[1:])
    with pytest.raises(ManifestError, match="NUL byte"):
        read_table(path, delimiter=",")


def test_signalling_nan_samples_are_refused_without_a_warning():
    import warnings

    from voiceguard.audio import read_input
    from voiceguard.errors import NonFiniteAudioError

    y = np.frombuffer(bytes.fromhex("ffffbfff") * 4 + np.zeros(100, "<f4").tobytes(), "<f4")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteAudioError):
            read_input(y, 16000, min_sr=8000, purpose="spoof scoring")


@pytest.mark.parametrize("finding", ["corrupt_text_column.db", "non_utf8_schema.db", "meta_without_store_id.db",
                                     "corrupt_quality_json.db"])
def test_corrupt_voiceprint_database_is_a_store_error(tmp_path, finding):
    from voiceguard.store import VoiceprintStore, VoiceprintStoreError

    db = tmp_path / "vp.db"
    db.write_bytes((FUZZ / "regressions" / "voiceprints" / finding).read_bytes()[1:])
    with pytest.raises(VoiceprintStoreError, match="corrupt"):
        with VoiceprintStore(db, key=b"", create=False) as st:
            for row in st.list():
                st.get(row["name"])


def test_malformed_multipart_answers_400_in_the_api_error_shape():
    import fuzz_http_upload as h
    from _harness import Reader

    data = (FUZZ / "regressions" / "http_upload" / "malformed_multipart_header").read_bytes()
    r = Reader(data)
    r.int(0, 255)
    ctype = h._header_text(r)
    r.pick(h.FILENAMES) if r.bool() else r.text(20)
    status, body = asyncio.run(h._post([(b"content-type", ctype.encode())], r.rest()))
    import json

    doc = json.loads(body)
    assert status == 400 and doc["status"] == 400 and "malformed multipart/form-data" in doc["error"]


def test_g711_uploads_decode_to_unit_range():
    from voiceguard.audio.g711 import alaw_encode, mulaw_encode
    from voiceguard.service.http_api import decode_upload

    y = 0.9 * np.sin(np.linspace(0, 200, 8000))
    for ctype, codes in (("audio/basic", mulaw_encode(y)), ("audio/PCMA", alaw_encode(y))):
        out, sr, ch = decode_upload(codes.astype(np.uint8).tobytes(), ctype)
        assert sr == 8000 and ch == 1
        assert 0.85 < np.abs(out).max() <= 1.0
        np.testing.assert_allclose(out, y, atol=0.03)


@pytest.mark.parametrize("sr", [float("nan"), float("inf"), -8000, 0, "16000", True, 1e12])
def test_array_sample_rates_are_validated(sr):
    from voiceguard.audio import read_input
    from voiceguard.errors import VoiceguardError

    with pytest.raises(VoiceguardError, match="sample rate"):
        read_input(np.zeros(16000), sr, min_sr=8000, purpose="spoof scoring")


def test_files_with_more_channels_than_frames_mix_down_per_frame(tmp_path):
    """A decoded file is [frames, channels]: a few frames of many channels (a short file, or
    the last block of a long one) were taken for [channels, frames] by the layout guess."""
    import soundfile as sf

    from voiceguard.audio import open_stream, read_input

    y = np.random.default_rng(0).uniform(-0.5, 0.5, (103, 9))
    sf.write(str(tmp_path / "short.wav"), y[:3], 16000, subtype="FLOAT")
    whole, *_ = read_input(tmp_path / "short.wav", None, min_sr=8000, purpose="spoof scoring")
    np.testing.assert_array_equal(whole, y[:3].astype(np.float32).astype(np.float64).mean(axis=1))
    sf.write(str(tmp_path / "tail.wav"), y, 16000, subtype="FLOAT")
    whole, *_ = read_input(tmp_path / "tail.wav", None, min_sr=8000, purpose="spoof scoring")
    blocks = open_stream(tmp_path / "tail.wav", None, min_sr=8000, purpose="spoof scoring", block_frames=50).blocks
    np.testing.assert_array_equal(np.concatenate(list(blocks)), whole)  # blocks of 50, 50, 3 frames


def test_headerless_bytes_named_au_are_not_decoded_by_guess(tmp_path):
    from voiceguard.audio import open_stream, read_input
    from voiceguard.errors import AudioReadError

    path = tmp_path / "junk.au"
    path.write_bytes((FUZZ / "regressions" / "audio_file" / "headerless_au_guess").read_bytes()[1:])
    with pytest.raises(AudioReadError, match="no audio header"):
        read_input(path, None, min_sr=8000, purpose="spoof scoring")
    with pytest.raises(AudioReadError, match="no audio header"):
        open_stream(path, None, min_sr=8000, purpose="spoof scoring")


def test_damaged_mp3_streams_the_samples_a_whole_read_gives(tmp_path):
    """libsndfile's MPEG decoder returned more frames on repeated reads of a damaged file
    than one read gives (1920 vs 1536): the block pipeline stops where load() stops."""
    from voiceguard.audio import open_stream, read_input

    path = tmp_path / "damaged.mp3"
    path.write_bytes((FUZZ / "regressions" / "audio_file" / "mp3_longer_than_announced").read_bytes()[1:])
    whole, *_ = read_input(path, None, min_sr=8000, purpose="spoof scoring")
    blocks = np.concatenate(list(open_stream(path, None, min_sr=8000, purpose="spoof scoring").blocks))
    assert len(blocks) == len(whole) == 1536
    np.testing.assert_allclose(blocks, whole, rtol=0, atol=1e-6)


def test_cqt_geometry_refuses_an_absurd_bandwidth():
    """The C core once cast an infinite padding length to size_t (UB; found by the cqcc
    target): it now refuses the parameters."""
    from voiceguard._ext import _features as ext
    from voiceguard.errors import InvalidParameterError

    p = {"hop_length": 160, "fmin": 62.5, "n_bins": 12, "bins_per_octave": 12, "bandwidth": 1e-300}
    with pytest.raises(InvalidParameterError):
        ext.cqt_geometry(16000, 16000.0, p)
    p["bandwidth"] = 1.0
    T, M, L = ext.cqt_geometry(16000, 16000.0, p)
    assert T == 101 and L == M * 160 and M >= T
