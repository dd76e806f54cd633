"""Manifests: the list of labelled clips that training and evaluation read.

A manifest is a table with one row per audio file. voiceguard writes and reads it as a
tab-separated file with a header line (``manifest.tsv``); the columns are the fields of
:class:`ClipRow`, in that order. Paths are stored relative to the manifest's folder when
the file lies under it, so a corpus folder can be moved as a whole.

Readers turn other layouts into the same rows:

* :func:`read_table` -- any CSV or TSV with a header holding at least ``path`` and
  ``label`` (extra columns with known names fill the matching fields, the rest are kept
  in :attr:`ClipRow.extra`);
* :func:`read_corpus_manifest` -- the ``MANIFEST.tsv`` of the shared bona fide corpora
  (``path label source speaker duration_s license [domain language origin]``);
* :func:`read_asvspoof_protocol` -- ASVspoof 2019 LA/PA protocol files and ASVspoof 2021
  LA/DF/PA key files (``trial_metadata.txt``);
* :func:`read_manifest` -- voiceguard's own ``manifest.tsv``, or any of the above,
  chosen from the file's content.

Label vocabulary: ``bonafide`` (real human speech) and ``spoof`` (synthetic, converted or
vocoded speech). Common synonyms are accepted on input (``real``, ``genuine``,
``human``, ``bona-fide``; ``fake``, ``synthetic``, ``deepfake``, ``generated``) and
written back in the canonical form; numeric labels are refused because projects disagree
on whether ``1`` means real or fake.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = [
    "BONAFIDE",
    "SPOOF",
    "FAMILIES",
    "ClipRow",
    "Manifest",
    "ManifestError",
    "normalise_label",
    "read_table",
    "read_corpus_manifest",
    "read_asvspoof_protocol",
    "read_manifest",
    "write_manifest",
    "ASVSPOOF2019_FAMILIES",
]

BONAFIDE = "bonafide"
SPOOF = "spoof"

#: Synthesis families used in the ``family`` column (free text is allowed; these are the
#: values voiceguard's own corpus builder writes).
FAMILIES = (
    "bonafide",  # real speech
    "dsp-vocoder",  # copy-synthesis through a signal-processing vocoder
    "tts-rule",  # formant or diphone-concatenation text-to-speech (espeak-ng, diphone voices)
    "tts-spss",  # statistical parametric TTS (HTS, clustergen)
    "tts-neural",  # neural TTS (VITS / piper ...)
    "concatenative",  # unit selection / waveform concatenation (ASVspoof)
    "waveform-filter",  # voice conversion by waveform filtering (ASVspoof)
    "neural-vocoder",  # neural waveform generation (ASVspoof)
    "unknown",
)

#: Coarse family of each ASVspoof 2019 LA attack, from the system descriptions in the
#: ASVspoof 2019 database paper (Wang et al., Computer Speech & Language 2020). A16 and
#: A19 reuse the A04 and A06 systems.
ASVSPOOF2019_FAMILIES = {
    "A01": "neural-vocoder",  # TTS, WaveNet
    "A02": "dsp-vocoder",  # TTS, WORLD
    "A03": "dsp-vocoder",  # TTS, WORLD
    "A04": "concatenative",  # TTS, waveform concatenation
    "A05": "dsp-vocoder",  # VC, WORLD
    "A06": "waveform-filter",  # VC, spectral filtering
    "A07": "dsp-vocoder",  # TTS, WORLD + GAN post-filter
    "A08": "neural-vocoder",  # TTS, neural source-filter
    "A09": "dsp-vocoder",  # TTS, Vocaine
    "A10": "neural-vocoder",  # TTS, WaveRNN
    "A11": "dsp-vocoder",  # TTS, Griffin-Lim
    "A12": "neural-vocoder",  # TTS, WaveNet
    "A13": "concatenative",  # TTS+VC, waveform concatenation + filtering
    "A14": "dsp-vocoder",  # TTS+VC, STRAIGHT
    "A15": "neural-vocoder",  # TTS+VC, WaveNet
    "A16": "concatenative",  # = A04
    "A17": "waveform-filter",  # VC, waveform filtering
    "A18": "dsp-vocoder",  # VC, MFCC vocoder
    "A19": "waveform-filter",  # = A06
}

_BONAFIDE_WORDS = {"bonafide", "bona-fide", "bona_fide", "bona fide", "genuine", "real", "human"}
_SPOOF_WORDS = {"spoof", "spoofed", "fake", "synthetic", "deepfake", "generated", "attack"}


class ManifestError(VoiceguardError, ValueError):
    """A manifest or protocol file is malformed or inconsistent."""


def normalise_label(label: str, *, where: str = "") -> str:
    """Map a label or one of its synonyms to ``'bonafide'`` or ``'spoof'``.

    Parameters
    ----------
    label : str
        The label as written in a file (case and surrounding blanks are ignored).
    where : str, optional
        Location used in the error message (file and line).

    Returns
    -------
    str
        ``'bonafide'`` or ``'spoof'``.

    Raises
    ------
    ManifestError
        If the label is not a known word (numeric labels are refused on purpose).
    """
    word = label.strip().lower()
    if word in _BONAFIDE_WORDS:
        return BONAFIDE
    if word in _SPOOF_WORDS:
        return SPOOF
    hint = (
        " Numeric labels are ambiguous (is 1 real or fake?): write 'bonafide' or 'spoof'."
        if word.lstrip("-").isdigit()
        else ""
    )
    raise ManifestError(
        f"{where + ': ' if where else ''}unknown label {label!r}; use 'bonafide' or 'spoof' "
        f"(synonyms: {', '.join(sorted(_BONAFIDE_WORDS | _SPOOF_WORDS))}).{hint}"
    )


@dataclass
class ClipRow:
    """One labelled audio clip.

    Attributes
    ----------
    path : str
        Audio file, absolute or relative to the manifest's root folder.
    label : str
        ``'bonafide'`` or ``'spoof'``.
    speaker : str
        Speaker identity (real speaker for bona fide clips and copy-synthesis spoofs,
        voice name for TTS). Splits are made speaker-disjoint on this column.
    source : str
        Corpus or origin of the clip (used to hold out whole sources).
    domain : str
        Recording domain (``read``, ``phone``, ``broadcast``...), ``'-'`` if unknown.
    language : str
        Language code, ``'-'`` if unknown.
    system : str
        Synthesizer or vocoder id (``'voc-world'``, ``'tts-piper'``, ``'A07'``); ``'-'``
        for bona fide clips.
    family : str
        Coarse kind of synthesizer, one of :data:`FAMILIES` (``'bonafide'`` for real
        speech). Used for leave-one-family-out evaluation.
    condition : str
        Coarse channel tag (``'wideband'``, ``'wideband-mp3'``, ``'tel-8k-ulaw'``...).
    chain : str
        Full description of the channel chain applied (``'+'``-separated steps).
    split : str
        ``'train'``, ``'val'``, ``'test'``, ``'xdomain'`` (held-out source) or ``'-'``.
    group : str
        Id of the bona fide segment a clip was made from (copy-synthesis spoofs share the
        group of their original), or of the TTS sentence.
    duration_s : float
        Duration in seconds (0 if unknown).
    licence : str
        Licence of the material the clip was made from.
    extra : dict of str to str
        Any further columns, kept and written back unchanged.
    """

    path: str
    label: str
    speaker: str = "-"
    source: str = "-"
    domain: str = "-"
    language: str = "-"
    system: str = "-"
    family: str = "-"
    condition: str = "-"
    chain: str = "-"
    split: str = "-"
    group: str = "-"
    duration_s: float = 0.0
    licence: str = "-"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label = normalise_label(self.label)
        if self.family in ("", "-"):
            self.family = BONAFIDE if self.label == BONAFIDE else "unknown"
        if self.label == BONAFIDE and self.system in ("", "-"):
            self.system = "-"
        try:
            self.duration_s = float(self.duration_s)
        except (TypeError, ValueError) as exc:
            raise ManifestError(
                f"{self.path}: duration_s {self.duration_s!r} is not a number"
            ) from exc
        for name in _STR_FIELDS:
            value = getattr(self, name)
            value = "-" if value is None or str(value).strip() == "" else str(value).strip()
            if any(c in value for c in _BAD_CHARS):
                raise ManifestError(f"{self.path}: field {name} contains a tab, newline or NUL byte")
            setattr(self, name, value)
        for key, value in self.extra.items():  # written back as TSV cells too
            if any(c in str(s) for s in (key, value) for c in _BAD_CHARS):
                raise ManifestError(f"{self.path}: column {key!r} or its value contains a tab, newline or NUL byte")

    @property
    def is_spoof(self) -> bool:
        """bool : True for spoofed clips."""
        return self.label == SPOOF


#: Characters no cell may hold: TSV separators, and NUL (no path holds one; the csv module
#: of Python 3.10 refuses a line with it).
_BAD_CHARS = "\t\n\r\x00"
_FIELDS = tuple(f.name for f in dataclasses.fields(ClipRow) if f.name != "extra")
_STR_FIELDS = tuple(n for n in _FIELDS if n not in ("duration_s",))
_ALIASES = {
    "file": "path",
    "filename": "path",
    "audio": "path",
    "wav": "path",
    "key": "label",
    "class": "label",
    "target": "label",
    "speaker_id": "speaker",
    "spk": "speaker",
    "attack": "system",
    "system_id": "system",
    "license": "licence",
    "duration": "duration_s",
}


class Manifest(Sequence[ClipRow]):
    """An ordered list of :class:`ClipRow` with the folder its relative paths refer to.

    Parameters
    ----------
    rows : iterable of ClipRow
        The clips.
    root : str or os.PathLike, optional
        Folder that relative paths are relative to (default: current directory).
    """

    def __init__(self, rows: Iterable[ClipRow], root: str | os.PathLike[str] = ".") -> None:
        self.rows: list[ClipRow] = list(rows)
        self.root = Path(root)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return Manifest(self.rows[index], self.root)
        return self.rows[index]

    def __iter__(self) -> Iterator[ClipRow]:
        return iter(self.rows)

    def __repr__(self) -> str:
        counts = Counter(r.label for r in self.rows)
        return (
            f"Manifest({len(self.rows)} clips: {counts.get(BONAFIDE, 0)} bonafide, "
            f"{counts.get(SPOOF, 0)} spoof; root={str(self.root)!r})"
        )

    def resolve(self, row: ClipRow) -> Path:
        """Absolute path of a row's audio file.

        Parameters
        ----------
        row : ClipRow
            A row of this manifest.

        Returns
        -------
        pathlib.Path
            ``row.path`` if absolute, else ``root / row.path``.
        """
        p = Path(row.path)
        return p if p.is_absolute() else self.root / p

    def filter(self, **criteria: str | Iterable[str]) -> Manifest:
        """Rows whose fields match every criterion.

        Parameters
        ----------
        **criteria
            ``field=value`` or ``field=[values...]``; a value starting with ``'!'`` excludes.

        Returns
        -------
        Manifest
            The matching rows, same root.

        Examples
        --------
        >>> m.filter(split="train", system="!voc-world")  # doctest: +SKIP
        """
        tests = []
        for name, want in criteria.items():
            if name not in _FIELDS:
                raise InvalidParameterError(f"unknown manifest field {name!r}; use one of {_FIELDS}")
            if isinstance(want, str):
                if want.startswith("!"):
                    tests.append((name, {want[1:]}, False))
                else:
                    tests.append((name, {want}, True))
            else:
                tests.append((name, {str(w) for w in want}, True))
        rows = [
            r for r in self.rows if all((str(getattr(r, n)) in vals) == inc for n, vals, inc in tests)
        ]
        return Manifest(rows, self.root)

    def values(self, name: str) -> list[str]:
        """Sorted distinct values of one field."""
        if name not in _FIELDS:
            raise InvalidParameterError(f"unknown manifest field {name!r}; use one of {_FIELDS}")
        return sorted({str(getattr(r, name)) for r in self.rows})

    def minutes(self) -> float:
        """Total duration in minutes (rows with unknown duration count 0)."""
        return sum(r.duration_s for r in self.rows) / 60.0

    def with_root(self, root: str | os.PathLike[str]) -> Manifest:
        """The same rows with absolute paths, re-rooted at ``root`` when possible."""
        root = Path(root)
        rows = []
        for r in self.rows:
            absolute = self.resolve(r).absolute()
            try:
                rel = absolute.relative_to(root.absolute())
                rows.append(dataclasses.replace(r, path=rel.as_posix()))
            except ValueError:
                rows.append(dataclasses.replace(r, path=str(absolute)))
        return Manifest(rows, root)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write as voiceguard TSV; see :func:`write_manifest`."""
        write_manifest(self, path)


def write_manifest(manifest: Manifest | Iterable[ClipRow], path: str | os.PathLike[str]) -> None:
    """Write a manifest as a tab-separated file with a header.

    Relative paths are rewritten relative to the output file's folder; the file is written
    to a temporary name and renamed, so a reader never sees half a file.

    Parameters
    ----------
    manifest : Manifest or iterable of ClipRow
        Rows to write (plain rows are taken relative to the current directory).
    path : str or os.PathLike
        Output ``.tsv`` file.
    """
    path = Path(path)
    if not isinstance(manifest, Manifest):
        manifest = Manifest(manifest, ".")
    manifest = manifest.with_root(path.parent)
    extra_cols: list[str] = []
    for r in manifest:
        for k in r.extra:
            if k not in extra_cols and k not in _FIELDS:
                extra_cols.append(k)
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(_tsv_cell(c, i) for i, c in enumerate(_FIELDS + tuple(extra_cols))) + "\n")
        for r in manifest:
            cells = [
                f"{r.duration_s:.3f}" if n == "duration_s" else str(getattr(r, n)) for n in _FIELDS
            ] + [r.extra.get(k, "-") or "-" for k in extra_cols]
            fh.write("\t".join(_tsv_cell(c, i) for i, c in enumerate(cells)) + "\n")
    os.replace(tmp, path)


def _tsv_cell(value: str, column: int) -> str:
    """A cell as :func:`read_table` reads it back: quoted (``"..."``, inner quotes doubled)
    when it holds a double quote, starts or ends with white space, or starts a line with
    ``#`` (which the reader would take for a comment)."""
    if '"' in value or value != value.strip() or (column == 0 and value.startswith("#")):
        return '"' + value.replace('"', '""') + '"'
    return value


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn what a malformed text file raises while read into a ManifestError."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                            f"{exc.start}); save the manifest as UTF-8") from exc
    except csv.Error as exc:
        raise ManifestError(f"{path}: malformed table ({exc})") from exc


def _row_from_mapping(rec: dict[str, str], where: str) -> ClipRow:
    kwargs: dict[str, object] = {}
    extra: dict[str, str] = {}
    for key, value in rec.items():
        if key is None:
            raise ManifestError(f"{where}: more cells than header columns")
        name = key.strip()
        lname = _ALIASES.get(name.lower(), name.lower())
        value = "" if value is None else value
        if lname in _FIELDS and lname not in kwargs:
            kwargs[lname] = value
        else:
            extra[name] = value
    if not kwargs.get("path"):
        raise ManifestError(f"{where}: empty path")
    if "label" not in kwargs:
        raise ManifestError(f"{where}: no label")
    kwargs["label"] = normalise_label(str(kwargs["label"]), where=where)
    if kwargs.get("duration_s", "") in ("", "-"):
        kwargs["duration_s"] = 0.0
    try:
        return ClipRow(**kwargs, extra=extra)  # type: ignore[arg-type]
    except ManifestError as exc:
        raise ManifestError(f"{where}: {exc}") from exc


def read_table(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    delimiter: str | None = None,
) -> Manifest:
    """Read a CSV/TSV manifest with a header naming at least ``path`` and ``label``.

    Parameters
    ----------
    path : str or os.PathLike
        The table. ``.csv`` files are comma-separated, anything else tab-separated unless
        ``delimiter`` says otherwise.
    root : str or os.PathLike, optional
        Folder that relative paths refer to (default: the table's folder).
    delimiter : str, optional
        Cell separator; default from the extension.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        If the header lacks ``path`` or ``label``, a label is unknown, or a line is ragged.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    if delimiter is None:
        delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    with _reading(path), open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(
            (line for line in fh if line.strip() and not line.lstrip().startswith("#")),
            delimiter=delimiter,
        )
        header = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []]
        missing = [c for c in ("path", "label") if c not in header]
        if missing:
            raise ManifestError(
                f"{path}: header {reader.fieldnames} lacks {missing}; a manifest needs a header "
                "line with at least 'path' and 'label' columns"
                + (" (is this a .csv read as TSV? pass delimiter=',')" if len(header) == 1 else "")
            )
        rows = [_row_from_mapping(rec, f"{path}:{i + 2}") for i, rec in enumerate(reader)]
    return Manifest(rows, root if root is not None else path.parent)


def read_corpus_manifest(folder: str | os.PathLike[str]) -> Manifest:
    """Read the ``MANIFEST.tsv`` of a shared bona fide corpus folder.

    The shared corpora (``speech``, ``speech-domains``) list ``path label source speaker
    duration_s license`` and optionally ``domain language origin``; paths are relative to
    the folder. An empty speaker becomes ``unknown_<source>`` so that unnamed speakers of
    one source stay together when splitting.

    Parameters
    ----------
    folder : str or os.PathLike
        Corpus folder holding ``MANIFEST.tsv`` (or the ``.tsv`` file itself).

    Returns
    -------
    Manifest
    """
    folder = Path(folder)
    table = folder if folder.is_file() else folder / "MANIFEST.tsv"
    if not table.is_file():
        raise ManifestError(
            f"{table} not found: a corpus folder must hold a MANIFEST.tsv with at least "
            "'path' and 'label' columns"
        )
    m = read_table(table, root=table.parent)
    for r in m:
        if r.speaker == "-":
            r.speaker = f"unknown_{r.source}"
    return m


def read_asvspoof_protocol(
    protocol: str | os.PathLike[str],
    audio_dir: str | os.PathLike[str],
    *,
    ext: str = "flac",
    split: str = "-",
) -> Manifest:
    """Read an ASVspoof 2019 or 2021 protocol / key file.

    Layouts recognised (whitespace-separated, one trial per line):

    * ASVspoof 2019 LA and PA (``ASVspoof2019.LA.cm.train.trn.txt`` ...):
      ``SPEAKER UTTERANCE ENV SYSTEM KEY`` -- e.g. ``LA_0079 LA_T_1138215 - - bonafide``;
      ENV is ``-`` in LA (PA: acoustic environment id, kept as the condition); SYSTEM is
      ``-`` for bona fide or ``A01``..``A19`` (PA: replay config).
    * ASVspoof 2021 LA / DF / PA keys (``keys/CM/trial_metadata.txt``):
      ``SPEAKER UTTERANCE CODEC TRANSMISSION ATTACK KEY TRIM SUBSET [VOCODER ...]`` --
      e.g. ``LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval`` or, for DF,
      ``LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder
      - - - -``. CODEC and TRANSMISSION form the condition (``alaw/ita_tx``), SUBSET the
      split unless ``split`` is given, and the DF VOCODER column the family.

    The key column is found as the last of the first six cells equal to ``bonafide`` or
    ``spoof`` (2021 bona fide trials repeat ``bonafide`` in the attack column), the
    system is the cell before it, so minor variants of both layouts read too. Bare trial
    lists without keys (one utterance id per line) cannot be used for training or
    scoring and are refused with a pointer to the key files.

    Parameters
    ----------
    protocol : str or os.PathLike
        The protocol or key file.
    audio_dir : str or os.PathLike
        Folder holding ``<UTTERANCE>.<ext>`` (e.g. ``ASVspoof2019_LA_train/flac``).
    ext : str, optional
        Audio file extension (default ``'flac'``).
    split : str, optional
        Split to record on every row; default: 2021 SUBSET column, else ``'-'``.

    Returns
    -------
    Manifest
        Rows with absolute paths; family from :data:`ASVSPOOF2019_FAMILIES` for 2019
        attacks, from the DF vocoder column when present.
    """
    protocol = Path(protocol)
    audio_dir = Path(audio_dir)
    if not protocol.is_file():
        raise ManifestError(f"ASVspoof protocol {protocol} does not exist")
    if not audio_dir.is_dir():
        raise ManifestError(
            f"ASVspoof audio folder {audio_dir} does not exist (expected the folder holding "
            f"<UTTERANCE>.{ext}, e.g. ASVspoof2019_LA_train/flac)"
        )
    source = "asvspoof"
    rows = []
    with _reading(protocol), open(protocol, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            cells = line.split()
            if not cells or cells[0].startswith("#"):
                continue
            where = f"{protocol}:{lineno}"
            # The key is the last 'bonafide'/'spoof' among the first six cells: 2021 keys
            # write 'bonafide' in the attack column too.
            keys = [i for i, c in enumerate(cells[:6]) if c.lower() in (BONAFIDE, SPOOF)]
            key_idx = keys[-1] if keys else None
            if key_idx is None:
                raise ManifestError(
                    f"{where}: no 'bonafide'/'spoof' key in {line.strip()!r}; this looks like a "
                    "trial list without keys -- use the key file (2019: the *.trn.txt / "
                    "*.trl.txt protocols; 2021: keys/CM/trial_metadata.txt)"
                )
            if key_idx < 3:
                raise ManifestError(
                    f"{where}: key in column {key_idx + 1}; expected 'SPEAKER UTTERANCE ENV "
                    "SYSTEM KEY' (2019) or 'SPEAKER UTTERANCE CODEC TRANSMISSION ATTACK KEY ...' "
                    "(2021)"
                )
            speaker, utt = cells[0], cells[1]
            label = cells[key_idx].lower()
            system = cells[key_idx - 1]
            is2021 = key_idx >= 4
            if is2021:
                condition = f"{cells[2]}/{cells[3]}"
                row_split = split if split != "-" else (cells[key_idx + 2] if len(cells) > key_idx + 2 else "-")
                vocoder = cells[key_idx + 3] if len(cells) > key_idx + 3 else "-"
            else:
                condition = cells[2] if cells[2] != "-" else "-"
                row_split = split
                vocoder = "-"
            if label == BONAFIDE:
                family, system = BONAFIDE, "-"
            elif vocoder not in ("-", ""):
                family = vocoder
            else:
                family = ASVSPOOF2019_FAMILIES.get(system, "unknown")
            rows.append(
                ClipRow(
                    path=str((audio_dir / f"{utt}.{ext}").absolute()),
                    label=label,
                    speaker=speaker,
                    source=source,
                    system=system,
                    family=family,
                    condition=condition,
                    split=row_split,
                    group=utt,
                    language="en",
                )
            )
    if not rows:
        raise ManifestError(f"{protocol}: no trials found")
    return Manifest(rows, audio_dir)


def read_manifest(
    path: str | os.PathLike[str],
    *,
    audio_dir: str | os.PathLike[str] | None = None,
) -> Manifest:
    """Read any supported manifest, choosing the reader from the content.

    Parameters
    ----------
    path : str or os.PathLike
        A voiceguard ``manifest.tsv``, a CSV/TSV with ``path,label`` header, a corpus
        folder holding ``MANIFEST.tsv``, or an ASVspoof protocol / key file.
    audio_dir : str or os.PathLike, optional
        Audio folder; required for ASVspoof protocols.

    Returns
    -------
    Manifest
    """
    path = Path(path)
    if path.is_dir():
        for name in ("manifest.tsv", "MANIFEST.tsv"):
            if (path / name).is_file():
                return read_table(path / name) if name == "manifest.tsv" else read_corpus_manifest(path)
        raise ManifestError(f"{path} is a folder without manifest.tsv or MANIFEST.tsv")
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    with _reading(path), open(path, encoding="utf-8-sig") as fh:
        first = next((ln for ln in fh if ln.strip() and not ln.startswith("#")), "")
    tokens = first.split()
    header_words = {c.strip().lower() for c in first.replace(",", "\t").split("\t")}
    if {"path", "label"} <= {_ALIASES.get(w, w) for w in header_words}:
        return read_table(path)
    if any(t.lower() in (BONAFIDE, SPOOF) for t in tokens) or len(tokens) == 1:
        if audio_dir is None:
            raise ManifestError(
                f"{path} looks like an ASVspoof protocol: pass the audio folder (audio_dir=..., "
                "--audio-dir) holding the <UTTERANCE>.flac files"
            )
        return read_asvspoof_protocol(path, audio_dir)
    raise ManifestError(
        f"{path}: not a recognised manifest (need a header with 'path' and 'label', or an "
        "ASVspoof protocol line 'SPEAKER UTTERANCE ... SYSTEM KEY')"
    )
