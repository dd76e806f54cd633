"""Manifest rows, TSV round trip and the CSV / corpus / ASVspoof readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceguard.data.manifest import (
    ClipRow,
    Manifest,
    ManifestError,
    normalise_label,
    read_asvspoof_protocol,
    read_corpus_manifest,
    read_manifest,
    read_table,
    write_manifest,
)
from voiceguard.data.splits import (
    assign_speaker_splits,
    check_speaker_disjoint,
    choose_holdout_sources,
    leave_one_out,
)


def test_labels_and_synonyms():
    assert normalise_label(" Bona-Fide ") == "bonafide"
    assert normalise_label("FAKE") == "spoof"
    with pytest.raises(ManifestError, match="Numeric labels"):
        normalise_label("1")
    with pytest.raises(ManifestError, match="unknown label"):
        normalise_label("maybe")


def test_row_defaults():
    r = ClipRow(path="a.flac", label="real")
    assert r.label == "bonafide" and r.family == "bonafide" and r.system == "-"
    s = ClipRow(path="b.flac", label="spoof", system="A07")
    assert s.family == "unknown" and s.is_spoof
    with pytest.raises(ManifestError):
        ClipRow(path="c.flac", label="spoof", speaker="a\tb")


def test_tsv_round_trip(tmp_path: Path):
    rows = [
        ClipRow(path=str(tmp_path / "x" / "a.flac"), label="bonafide", speaker="s1", split="train", duration_s=1.5),
        ClipRow(path="/elsewhere/b.flac", label="spoof", speaker="s2", system="voc-world", family="dsp-vocoder",
                extra={"settings": "fp5"}),
    ]
    out = tmp_path / "manifest.tsv"
    write_manifest(Manifest(rows, tmp_path), out)
    text = out.read_text().splitlines()
    assert text[0].split("\t")[:3] == ["path", "label", "speaker"]
    assert text[1].startswith("x/a.flac\t")  # relative to the manifest's folder
    m = read_manifest(out)
    assert len(m) == 2
    assert m.resolve(m[0]) == tmp_path / "x" / "a.flac"
    assert m[0].duration_s == pytest.approx(1.5)
    assert m[1].path == "/elsewhere/b.flac" and m[1].extra["settings"] == "fp5"
    assert m[1].family == "dsp-vocoder"
    assert len(m.filter(label="spoof")) == 1
    assert len(m.filter(system="!voc-world")) == 1
    assert m.values("speaker") == ["s1", "s2"]


def test_plain_csv_reader(tmp_path: Path):
    p = tmp_path / "list.csv"
    p.write_text("path,label,speaker,attack,notes\nclips/a.wav,genuine,alice,,ok\nclips/b.wav,deepfake,bob,xtts,\n")
    m = read_table(p)
    assert [r.label for r in m] == ["bonafide", "spoof"]
    assert m[1].system == "xtts"  # 'attack' is an alias of system
    assert m[0].extra["notes"] == "ok"
    assert m.resolve(m[0]) == tmp_path / "clips" / "a.wav"
    # TSV through the generic entry point
    t = tmp_path / "list.tsv"
    t.write_text("file\tclass\n/abs/c.flac\tspoof\n")
    assert read_manifest(t)[0].path == "/abs/c.flac"


def test_plain_reader_errors(tmp_path: Path):
    p = tmp_path / "bad.csv"
    p.write_text("filename,score\na.wav,0.3\n")
    with pytest.raises(ManifestError, match="lacks"):
        read_table(p)
    q = tmp_path / "num.csv"
    q.write_text("path,label\na.wav,1\n")
    with pytest.raises(ManifestError, match="num.csv:2"):
        read_table(q)
    with pytest.raises(ManifestError, match="does not exist"):
        read_table(tmp_path / "missing.csv")


def test_corpus_manifest_reader(tmp_path: Path):
    (tmp_path / "MANIFEST.tsv").write_text(
        "path\tlabel\tsource\tspeaker\tduration_s\tlicense\tdomain\tlanguage\torigin\n"
        "s/a.flac\tbonafide\tsrcA\tspk1\t2.50\tCC BY 4.0\tphone\ten\tx@y:z\n"
        "s/b.flac\tbonafide\tsrcB\t\t1.25\tMIT\tread\tfr\tq\n"
    )
    m = read_corpus_manifest(tmp_path)
    assert m[0].licence == "CC BY 4.0" and m[0].domain == "phone" and m[0].extra["origin"] == "x@y:z"
    assert m[1].speaker == "unknown_srcB"
    assert m.resolve(m[1]) == tmp_path / "s" / "b.flac"
    assert read_manifest(tmp_path)[0].source == "srcA"  # folder -> corpus reader


def test_asvspoof2019_protocol(tmp_path: Path):
    audio = tmp_path / "flac"
    audio.mkdir()
    proto = tmp_path / "ASVspoof2019.LA.cm.train.trn.txt"
    proto.write_text(
        "LA_0079 LA_T_1138215 - - bonafide\n"
        "LA_0079 LA_T_1271820 - A01 spoof\n"
        "LA_0080 LA_T_1000001 - A17 spoof\n"
    )
    m = read_asvspoof_protocol(proto, audio, split="train")
    assert [r.label for r in m] == ["bonafide", "spoof", "spoof"]
    assert m[0].system == "-" and m[0].family == "bonafide"
    assert m[1].system == "A01" and m[1].family == "neural-vocoder"
    assert m[2].family == "waveform-filter"
    assert m[1].path == str((audio / "LA_T_1271820.flac").absolute())
    assert {r.split for r in m} == {"train"} and m[0].speaker == "LA_0079"
    # read_manifest detects the layout but needs the audio folder
    with pytest.raises(ManifestError, match="audio_dir"):
        read_manifest(proto)
    assert len(read_manifest(proto, audio_dir=audio)) == 3


def test_asvspoof2021_keys(tmp_path: Path):
    audio = tmp_path / "flac"
    audio.mkdir()
    la = tmp_path / "LA_trial_metadata.txt"
    la.write_text(
        "LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval\n"
        "LA_0020 LA_E_5849185 pstn ita_tx bonafide bonafide notrim progress\n"
    )
    m = read_asvspoof_protocol(la, audio)
    assert m[0].condition == "alaw/ita_tx" and m[0].system == "A07" and m[0].split == "eval"
    assert m[0].family == "dsp-vocoder"
    assert m[1].label == "bonafide" and m[1].system == "-" and m[1].split == "progress"
    df = tmp_path / "DF_trial_metadata.txt"
    df.write_text("LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -\n")
    d = read_asvspoof_protocol(df, audio)
    assert d[0].family == "traditional_vocoder" and d[0].condition == "nocodec/asvspoof"
    bare = tmp_path / "trials.txt"
    bare.write_text("LA_E_9332881\n")
    with pytest.raises(ManifestError, match="without keys"):
        read_asvspoof_protocol(bare, audio)
    with pytest.raises(ManifestError, match="audio folder"):
        read_asvspoof_protocol(la, tmp_path / "nope")


def test_speaker_splits_are_disjoint_and_balanced():
    minutes = {f"spk{i}": 1.0 + (i % 5) for i in range(60)}
    a = assign_speaker_splits(minutes, (0.8, 0.1, 0.1), seed=3)
    assert a == assign_speaker_splits(minutes, (0.8, 0.1, 0.1), seed=3)
    assert set(a) == set(minutes)
    total = sum(minutes.values())
    for name, frac in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
        got = sum(m for s, m in minutes.items() if a[s] == name) / total
        assert abs(got - frac) < 0.05
    few = assign_speaker_splits({"a": 10.0, "b": 1.0, "c": 1.0}, (0.8, 0.1, 0.1))
    assert sorted(few.values()) == ["test", "train", "val"]
    rows = [ClipRow(path=f"{s}.flac", label="bonafide", speaker=s, split=a[s]) for s in minutes]
    check_speaker_disjoint(Manifest(rows))
    rows.append(ClipRow(path="x.flac", label="bonafide", speaker="spk0", split="val" if a["spk0"] != "val" else "test"))
    with pytest.raises(ManifestError, match="several splits"):
        check_speaker_disjoint(Manifest(rows))


def test_holdout_sources_never_take_big_corpora():
    src = {"big": 80.0, "a": 3.0, "b": 4.0, "c": 5.0, "d": 2.0}
    held = choose_holdout_sources(src, 0.1, seed=0)
    assert "big" not in held and held
    assert sum(src[s] for s in held) <= 1.5 * 0.1 * sum(src.values())
    assert choose_holdout_sources(src, 0.0) == []


def test_leave_one_out_folds():
    rows = []
    for split in ("train", "val"):
        rows.append(ClipRow(path=f"{split}-b.flac", label="bonafide", speaker=f"{split}1", split=split))
        for sysid, fam in (("voc-world", "dsp-vocoder"), ("voc-lpc", "dsp-vocoder"), ("tts-piper", "tts-neural")):
            rows.append(ClipRow(path=f"{split}-{sysid}.flac", label="spoof", speaker=f"{split}1", split=split,
                                system=sysid, family=fam))
    m = Manifest(rows)
    folds = {v: (tr, ev) for v, tr, ev in leave_one_out(m, "system")}
    assert sorted(folds) == ["tts-piper", "voc-lpc", "voc-world"]
    tr, ev = folds["voc-world"]
    assert "voc-world" not in {r.system for r in tr} and {r.split for r in tr} == {"train"}
    assert {r.system for r in ev} == {"-", "voc-world"} and {r.split for r in ev} == {"val"}
    fam = {v: ev for v, _, ev in leave_one_out(m, "family")}
    assert sorted(fam) == ["dsp-vocoder", "tts-neural"]
    assert len(fam["dsp-vocoder"].filter(label="spoof")) == 2
