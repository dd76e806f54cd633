"""Fuzz target ``manifest``: bytes as a manifest file through every reader of
:mod:`voiceguard.data.manifest`.

Byte 0 picks the reader and the file name: :func:`read_manifest` (which sniffs the
layout) on ``manifest.tsv`` / ``list.csv`` / ``protocol.txt``, :func:`read_table` with the
default and an explicit delimiter, :func:`read_corpus_manifest`, and
:func:`read_asvspoof_protocol`. Every row read must be a valid :class:`ClipRow` (label
``bonafide``/``spoof``, no tab or newline in a field, a finite duration), and a manifest
that was read must write back and read again to the same rows.
"""

from __future__ import annotations

import math

from _harness import _SCRATCH, expected_errors, scratch_file

from voiceguard.data import manifest as mf

NAMES = ("manifest.tsv", "list.csv", "protocol.txt", "MANIFEST.tsv")


def _check(m: mf.Manifest) -> None:
    for row in m:
        assert row.label in (mf.BONAFIDE, mf.SPOOF), row.label
        assert isinstance(row.duration_s, float) and not math.isnan(row.duration_s), row.duration_s
        for name in mf._STR_FIELDS:
            v = getattr(row, name)
            assert isinstance(v, str) and "\t" not in v and "\n" not in v, (name, v)
    out = _SCRATCH / "roundtrip" / "manifest.tsv"
    out.parent.mkdir(exist_ok=True)
    with expected_errors():
        m.write(out)
        again = mf.read_table(out)
        assert len(again) == len(m)
        for a, b in zip(m, again):
            assert (a.label, a.speaker, a.system, a.family, a.split) == (b.label, b.speaker, b.system, b.family,
                                                                          b.split)


def one_input(data: bytes) -> None:
    if not data:
        return
    mode = data[0] % 6
    path = scratch_file(NAMES[mode % len(NAMES)], data[1:])
    with expected_errors():
        if mode in (0, 1, 2):
            m = mf.read_manifest(path, audio_dir=_SCRATCH)
        elif mode == 3:
            m = mf.read_corpus_manifest(path)
        elif mode == 4:
            m = mf.read_table(path, delimiter=",")
        else:
            m = mf.read_asvspoof_protocol(path, _SCRATCH)
        _check(m)
