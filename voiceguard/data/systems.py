"""Which synthesizers a system label names, across demo pages: system groups and clusters.

Demo pages name their systems in their own words, and copy each other's baselines: VALL-E
appears on a dozen pages as "VALL-E (as on MobileSpeech page)", "VALL-E (from demo, 16k)",
"VALL-E (R) reproduction" ... Validation that holds a system out must hold it out
**wherever it appears**, so every label is mapped to the **groups** it names:

* the model itself (``vall-e``, ``naturalspeech3``, ``styletts`` ...); close descendants
  and reproductions share the group (StyleTTS, StyleTTS 2 and StyleTTS-ZS; Mega-TTS 1 and 2);
* the waveform generator where the page names one (``... (PWG vocoder)`` also names
  ``parallel-wavegan``; NaturalSpeech 3 decodes with FACodec; VALL-E with EnCodec; XTTS is
  built on Tortoise; Piper voices are VITS models), because a detector keys on the waveform
  generator as much as on the acoustic model.

Groups that one label joins are merged into a **cluster** (union-find over all labels
seen): a held-out fold takes whole clusters, so no held-out system is trained on under
another name. The same rules cover voiceguard's own spoof systems (``voc-world``,
``tts-piper`` ...), so a held-out WORLD or VITS cluster leaves the corpus's own WORLD
copies or Piper voices out of training too.

The rules are ordered regular expressions on the lower-cased label; every rule that
matches adds its group. A label no rule matches is its own group (its slug).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["RULES", "system_groups", "SystemClusters"]

#: (pattern, group): every matching pattern adds its group.
RULES: tuple[tuple[str, str], ...] = (
    # codec language models and their codecs
    (r"vall-e", "vall-e"),
    (r"vall-e|encodec|bark \+ encodec|soundstream-type", "encodec"),
    (r"speechtokenizer|\buslm\b", "speechtokenizer"),
    (r"soundstorm", "soundstorm"),
    (r"\bdac\b|descript", "dac"),
    (r"soundstream", "soundstream"),
    (r"hifi-codec|academicodec", "hifi-codec"),
    (r"codecs: dac/encodec/hifi-codec/soundstream", "dac"),
    (r"codecs: dac/encodec/hifi-codec/soundstream", "soundstream"),
    (r"codecs: dac/encodec/hifi-codec/soundstream", "hifi-codec"),
    (r"audiodec|\bsymad|asymad|scoredec", "audiodec"),
    (r"codec2", "codec2"),
    (r"lpcnet", "lpcnet"),
    (r"opus", "opus"),
    (r"higgs-audio", "higgs-audio"),
    (r"uniaudio", "uniaudio"),
    (r"mimo-audio", "mimo-audio"),
    (r"qwen2\.5-omni", "qwen-omni"),
    (r"simplespeech|sq-codec|vae \(latent\)", "simplespeech"),
    (r"spear-tts", "spear-tts"),
    (r"cascade asr", "cascade-google-tts"),
    # zero-shot TTS and their decoders
    (r"naturalspeech 3|facodec", "naturalspeech3"),
    (r"naturalspeech 2", "naturalspeech2"),
    (r"^naturalspeech($| \()", "naturalspeech"),
    (r"voicebox", "voicebox"),
    (r"mega-tts", "mega-tts"),
    (r"clam-tts", "clam-tts"),
    (r"ditto-tts", "ditto-tts"),
    (r"\be1 tts\b|ardit", "e1-tts"),
    (r"e3-tts", "e3-tts"),
    (r"\be2 tts\b|f5-tts", "f5-e2-tts"),
    (r"simple-tts", "simple-tts"),
    (r"styletts", "styletts"),
    (r"flashspeech", "flashspeech"),
    (r"p-flow", "p-flow"),
    (r"voicecraft", "voicecraft"),
    (r"fluentspeech", "fluentspeech"),
    (r"xtts|tortoise", "tortoise-xtts"),
    (r"cosyvoice", "cosyvoice"),
    (r"spark-tts", "spark-tts"),
    (r"fish-speech", "fish-speech"),
    (r"fireredtts", "fireredtts"),
    (r"chattts", "chattts"),
    (r"zipvoice", "zipvoice"),
    (r"mobilespeech|gt codec \(codec resynthesis, mobilespeech", "mobilespeech"),
    (r"hierspeech|hiervst", "hierspeech"),
    (r"mvoice|make-a-voice", "make-a-voice"),
    (r"controlspeech", "controlspeech"),
    (r"vs-tts", "vs-tts"),
    (r"instructtts", "instructtts"),
    (r"promptstyle", "promptstyle"),
    (r"prompttts", "prompttts"),
    (r"generspeech", "generspeech"),
    (r"norespeech", "norespeech"),
    (r"nansy", "nansy"),
    # classic TTS acoustic models
    (r"fastspeech|lightspeech|png bert", "fastspeech"),
    (r"tacotron", "tacotron"),
    (r"transformertts|\bspeech-t/", "transformertts"),
    (r"\bvits\b|flowcpcvc|piper", "vits"),
    (r"\bjets\b", "jets"),
    (r"grad-tts|gradtts|grad-stylespeech", "grad-tts"),
    (r"matcha", "matcha-tts"),
    (r"comospeech", "comospeech"),
    (r"prodiff", "prodiff"),
    (r"portaspeech", "portaspeech"),
    (r"adaspeech", "adaspeech"),
    (r"styler", "styler"),
    (r"mellotron", "mellotron"),
    (r"face-tts|face-stylespeech", "face-tts"),
    (r"denoispeech", "denoispeech"),
    (r"lrspeech", "lrspeech"),
    (r"priorgrad", "priorgrad"),
    (r"seminas|almost-unsupervised|uwspeech", "speechresearch-gl-tts"),
    (r"unitspeech", "unitspeech"),
    (r"transpeech", "transpeech"),
    (r"low-cost tts", "low-cost-tts"),
    (r"cascaded tts", "cascaded-tts"),
    (r"merlin", "merlin"),
    # voice conversion
    (r"stargan", "starganv2-vc"),
    (r"autovc", "autovc"),
    (r"adain-vc", "adain-vc"),
    (r"again-vc", "again-vc"),
    (r"fragmentvc", "fragmentvc"),
    (r"mediumvc", "mediumvc"),
    (r"diff-?vc", "diff-vc"),
    (r"diff-hiervc", "diff-hiervc"),
    (r"dddm-vc", "dddm-vc"),
    (r"voicemixer", "voicemixer"),
    (r"vqvc", "vqvc"),
    (r"lvc-vc", "lvc-vc"),
    (r"nvc-net", "nvc-net"),
    (r"\bblow\b", "blow"),
    (r"polyak", "polyak-vc"),
    # waveform generators (neural vocoders) and DSP vocoders
    (r"\bpwg|parallel wavegan|qppwg", "parallel-wavegan"),
    (r"bigvgan", "bigvgan"),
    (r"univnet", "univnet"),
    (r"vocos", "vocos"),
    (r"istftnet|kokoro", "istftnet"),
    (r"multi-band melgan|mb-melgan", "mb-melgan"),
    (r"stylemelgan", "stylemelgan"),
    (r"wavegrad", "wavegrad"),
    (r"specgrad", "specgrad"),
    (r"diffwave", "diffwave"),
    (r"fastdiff", "fastdiff"),
    (r"waveflow", "waveflow"),
    (r"clarinet", "clarinet"),
    (r"wavehax", "wavehax"),
    (r"apnet|apcodec|ap-bwe|hinet", "apnet"),
    (r"\bnsf\b|usfgan", "nsf"),
    (r"world|voc-world|voc-mlsa", "world"),
    (r"griffin-lim|voc-gl", "griffin-lim"),
    (r"voc-lpc", "lpc"),
    (r"espeak", "espeak"),
    (r"flite", "flite"),
    (r"festival", "festival"),
)

_COMPILED = tuple((re.compile(p), g) for p, g in RULES)

#: Mentions of the page a baseline was copied from ("as on the StyleTTS-ZS page", "from
#: NS3 demo") name a page, not a system: they are removed before the rules apply.
_PAGE_MENTIONS = (re.compile(r"\b(?:as on|from|on)(?: the)? [^,;()]*? (?:page|demo)\b"),
                  re.compile(r"\b(?!per\b)[a-z0-9\-+.]+ page\b"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "unknown"


def system_groups(label: str) -> tuple[str, ...]:
    """Every system group a label names, in rule order (its slug when no rule matches).

    Examples
    --------
    >>> system_groups("VALL-E (as on MobileSpeech page)")
    ('vall-e', 'encodec')
    >>> system_groups("FastSpeech 2 / PnG BERT (PWG vocoder)")
    ('fastspeech', 'parallel-wavegan')
    """
    low = label.lower()
    for rx in _PAGE_MENTIONS:
        low = rx.sub(" ", low)
    out: list[str] = []
    for rx, group in _COMPILED:
        if rx.search(low) and group not in out:
            out.append(group)
    return tuple(out) or (_slug(label),)


class SystemClusters:
    """Union-find of the groups that labels name together: the unit a fold holds out.

    Parameters
    ----------
    labels : iterable of str
        Every system label of the data (demo pages and voiceguard's own systems).
    """

    def __init__(self, labels: Iterable[str]) -> None:
        self._parent: dict[str, str] = {}
        self.groups: dict[str, tuple[str, ...]] = {}
        self._uses: dict[str, int] = {}
        for label in labels:
            gs = system_groups(label)
            self.groups[label] = gs
            for g in gs:
                self._uses[g] = self._uses.get(g, 0) + 1
            for g in gs:
                self._parent.setdefault(g, g)
            for g in gs[1:]:
                self._union(gs[0], g)

    def _find(self, g: str) -> str:
        while self._parent[g] != g:
            self._parent[g] = self._parent[self._parent[g]]
            g = self._parent[g]
        return g

    def _union(self, a: str, b: str) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))  # deterministic whatever the order of the labels
            self._parent[hi] = lo

    def cluster(self, label: str) -> str:
        """The cluster of a label, named after its group that most labels name."""
        gs = self.groups.get(label) or system_groups(label)
        if gs[0] not in self._parent:
            return gs[0]
        return self._names()[self._find(gs[0])]

    def _names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for root, groups in self._by_root().items():
            names[root] = min(groups, key=lambda g: (-self._uses.get(g, 0), g))
        return names

    def _by_root(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for g in sorted(self._parent):
            out.setdefault(self._find(g), []).append(g)
        return out

    def members(self) -> dict[str, list[str]]:
        """Cluster name -> its groups."""
        names = self._names()
        return {names[root]: groups for root, groups in self._by_root().items()}
