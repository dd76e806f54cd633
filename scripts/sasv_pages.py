#!/usr/bin/env python
"""Spoof-aware verification trials from demo pages that show a real prompt beside its clone.

Zero-shot TTS and voice-conversion demo pages put the real recording a system was given
(the *prompt* of zero-shot TTS, the *target reference* of voice conversion) beside the
clone it made of that voice: exactly the attack on a voiceprint (enroll the prompt's
speaker as a customer, present the clone). This module turns the pages of
``../shared/data/spoof-demos`` (``ALLOWED.tsv`` and ``ALLOWED2.tsv``, imported as 16 kHz
FLAC with a ``MANIFEST.tsv``) into trial groups:

* **enroll**: the prompt / target reference (real), the customer's enrollment;
* **genuine**: other real recordings of the same speaker on the page (the page's
  ground truth of the clone's text, other clips of a VCTK / LibriTTS speaker);
* **clone**: every synthetic file the page made from that prompt (label ``spoof``).

The pairing is read from the path inside each page's repository (``source_path``), by
one rule set per repository (:data:`RULES`); the docstring of every rule says what the page
shows. Where the page gives no prompt but gives the ground-truth recording of the
speaker whose voice the system cloned (the prompt is another utterance of the same
speaker), the ground truth is the enrollment (``enroll_from = "gt"``). Sets whose pairing
cannot be read from the paths are left out (:data:`SKIPPED`). Three pages show clones whose
prompt was removed from them as an exact copy of another page's file (the import keeps one
copy): those prompts are taken from the page that keeps them (:data:`EXTERNAL`).

Nothing here is audio: :func:`build_groups` reads the manifest and returns groups;
``python scripts/sasv_pages.py`` writes them as a TSV (``benchmarks/trials/sasv_pages.tsv``).
The pairing is then checked with the speaker embedding (a clone is closer to its own
prompt than to the other prompts of its page): ``scripts/eval_sasv_pages.py --check-pairing``.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEMOS = Path("/work/pipe/runs/demos")

E, G, C, X = "enroll", "genuine", "clone", "skip"


@dataclass
class Rule:
    """One path pattern of a page.

    ``pattern`` has a named group ``k`` (the item: files with the same key belong to one
    prompt) and either a group ``r`` (a token mapped to a role by ``roles``; a token not in
    ``roles`` is a clone when the file is labelled spoof) or a fixed ``role``.
    ``enroll_from``: ``"prompt"`` (an ``enroll`` file is needed) or ``"gt"`` (a genuine
    file enrolls when the item has no prompt). ``kind``: ``tts`` (zero-shot TTS) or ``vc``.
    """

    pattern: str
    roles: dict = field(default_factory=dict)
    role: str | None = None
    enroll_from: str = "prompt"
    kind: str = "tts"
    note: str = ""
    key_fn: object = None  # optional callable(match) -> key, or -> [(key, role), ...]
    speaker_fn: object = None  # optional callable(key) -> speaker (groups of one speaker share genuine clips)

    def __post_init__(self) -> None:
        self.rx = re.compile(self.pattern)


def _src_tgt(m) -> list:
    """Voice-conversion folders named <src>-<tgt> / <src>x<tgt>: target.wav enrolls <tgt>,
    source.wav is a genuine clip of <src>, every other (spoof) file is a clone into <tgt>."""
    if m["r"] == "target":
        return [(m["tgt"], E)]
    if m["r"] == "source":
        return [(m["src"], G)]
    return [(m["tgt"], C)]


def _roles(enroll=(), genuine=(), skip=()) -> dict:
    d = {t: E for t in enroll}
    d.update({t: G for t in genuine})
    d.update({t: X for t in skip})
    return d


#: repository -> rules (first match wins). What each page shows is in the notes.
RULES: dict[str, list[Rule]] = {
    "0nutation/SpeechTokenizer.github.io": [
        Rule(r"^(?P<k>oneshot_vc/\d+)/(?P<r>\w+)\.\w+$", _roles(["prompt"], skip=["source"]), kind="vc",
             note="oneshot_vc/N/{prompt,source,generated}: generated = source's words in prompt's voice"),
        Rule(r"^(?P<k>zs_tts/\d+)/(?P<r>\w+)\.\w+$", _roles(["prompt"], ["groundtruth"]),
             note="zs_tts/N/{prompt,groundtruth,<system>}: prompt = 3 s of the speaker, groundtruth = same speaker"),
    ],
    "FireRedTeam/fireredteam.github.io": [
        Rule(r"^demos/firered_tts/audios/ZeroShotICL_samples/(?P<k>[^/]+/.+?)#(?:zh|en|en_zh)_\d+(?:_rep\d+)?\.wav$",
             role=C, note="ZeroShotICL_samples/<set>/<prompt>.wav beside <prompt>#<lang>_<n>.wav"),
        Rule(r"^demos/firered_tts/audios/ZeroShotICL_samples/(?P<k>[^/]+/[^/]+)\.wav$", role=E),
        Rule(r"^demos/firered_tts/audios/SpeakerFinetune_samples/(?P<s>[^/]+)/(?:fewshot_|zeroshot_)?(?P<p>[^/#]+)"
             r"#utt_\d+(?:_rep\d+)?\.wav$", role=C, key_fn=lambda m: f"{m['s']}/{m['p']}",
             speaker_fn=lambda k: k.split("/")[0],
             note="SpeakerFinetune_samples/<spk>/<prompt>.wav and {fewshot_,zeroshot_,}<prompt>#utt_<n>.wav; "
                  "the speaker's other prompts are genuine trials"),
        Rule(r"^demos/firered_tts/audios/SpeakerFinetune_samples/(?P<k>[^/]+/[^/#]+)\.wav$", role=E,
             speaker_fn=lambda k: k.split("/")[0]),
        Rule(r"^demos/firered_tts/audios/PromptDenoise_samples/prompt_clean/(?P<k>[^/]+)\.wav$", role=E,
             note="PromptDenoise_samples/prompt_clean/<id> (clean prompt); {before,after}_process/..._<id>#<text> "
                  "clones made from its noisy copies; prompt_clean_add_snr* (the noisy copies) left out"),
        Rule(r"^demos/firered_tts/audios/PromptDenoise_samples/(?:before|after)_process/prompt_\w+?_snr\d+_(?P<k>.+)#"
             r"(?:zh|en)_\d+\.wav$", role=C),
        Rule(r"^demos/firered_tts/audios/Streaming_samples/(?P<k>.+)_(?P<r>gt|fm|sd)\.wav$", _roles(genuine=["gt"]),
             enroll_from="gt", note="Streaming_samples/<id>_{gt,fm,sd}.wav: no prompt shown; gt (the speaker's real "
                                    "recording) enrolls"),
    ],
    "Make-A-Voice/Make-A-Voice.github.io": [
        Rule(r"^data/(?P<k>(?:ablation_data_tts|crtts/x-\w+|speartts|valle|voicebox)/\d+)_(?P<r>\w+)\.wav$",
             _roles(["prompt"], ["gt"]), note="data/<table>/<i>_{prompt,<system>}.wav (TTS tables)"),
        Rule(r"^data/(?P<k>(?:ablation_data_vc|ablation_size_vc|cross_style|noise|vc)/\d+)_(?P<r>\w+)\.wav$",
             _roles(["prompt"], skip=["source"]), kind="vc",
             note="data/<vc table>/<i>_{prompt,source,<system>}.wav: the prompt is the target voice"),
    ],
    "MobileSpeech/MobileSpeech.github.io": [
        Rule(r"^assets/audios/waves/(?P<k>\d+)/(?P<r>\w+)\.wav$", _roles(genuine=["gtexample"], skip=["gtcodec"]),
             enroll_from="gt",
             note="waves/N/{gtexample,megatts,mobilespeech,valle}: no prompt shown; gtexample is the cloned "
                  "speaker's real recording (enrolls); gtcodec (codec copy of it) left out"),
    ],
    "SWivid/SWivid.github.io": [
        Rule(r"^F5-TTS/audios/(?P<k>(?:emotion|robustness)/[a-z]+_\d*)_?ref\.wav$", role=E,
             note="F5-TTS/audios/{emotion,robustness}/<id>_ref.wav beside <id>_<system>.wav / <id>_gen.wav"),
        Rule(r"^F5-TTS/audios/(?P<k>emotion/[a-z]+)_(?:e2tts|f5tts)\.wav$", role=C),
        Rule(r"^F5-TTS/audios/(?P<k>robustness/[a-z]+_\d+)_gen\.wav$", role=C),
        Rule(r"^F5-TTS/audios/(?P<k>zero_shot/seedtts_ref_\w\w_\d+)\.wav$", role=E,
             note="zero_shot/seedtts_ref_<lang>_<n>.wav (prompt) beside ..._gen_<lang>.wav"),
        Rule(r"^F5-TTS/audios/(?P<k>zero_shot/seedtts_ref_\w\w_\d+)_gen_\w+\.wav$", role=C),
        Rule(r"^F5-TTS/audios/(?P<k>speed_control/(?:e2tts_speed|speed_control)_\d+)\.wav$", role=E,
             note="speed_control/<id>.wav (prompt) beside <id>_<rate>x.wav"),
        Rule(r"^F5-TTS/audios/(?P<k>speed_control/(?:e2tts_speed|speed_control)_\d+)_[\d.]+x\.wav$", role=C),
    ],
    "SpeechResearch/speechresearch.github.io": [
        Rule(r"^naturalspeech2/audio/(?P<k>(?:librispeech|vctk)_examples/case\d+)/(?P<r>\w+)\.wav$",
             _roles(["reference"], ["gt"]), note="naturalspeech2/audio/<set>_examples/caseN/{reference,gt,ns}"),
        Rule(r"^naturalspeech2/audio/(?P<k>vc/case\d+)/(?P<r>\w+)\.wav$", _roles(["ref"], skip=["src"]), kind="vc",
             note="naturalspeech2/audio/vc/caseN/{ref,src,denoised}: ref = target voice"),
        Rule(r"^naturalspeech3/audio/(?P<k>samples/\d+)(?:_(?P<r>prompt))?\.wav$", _roles(["prompt"]),
             note="naturalspeech3/audio/samples/N_prompt.wav beside N.wav"),
        Rule(r"^naturalspeech3/audio/zstts/(?P<s>[^/]+)/(?P<r>prompt|gt)/(?P<i>\d+)\.wav$", _roles(["prompt"], ["gt"]),
             key_fn=lambda m: f"zstts/{m['s']}/{m['i']}",
             note="naturalspeech3/audio/zstts/<set>/{prompt,gt,TTS/<system>}/N.wav"),
        Rule(r"^naturalspeech3/audio/zstts/(?P<s>[^/]+)/TTS/[^/]+/(?P<i>\d+)\.wav$", role=C,
             key_fn=lambda m: f"zstts/{m['s']}/{m['i']}"),
        Rule(r"^naturalspeech3/audio/vc/(?P<r>Prompt|Source|Generate)/(?P<i>\d+)\.wav$", _roles(["Prompt"],
             skip=["Source"]), kind="vc", key_fn=lambda m: f"vc/{m['i']}",
             note="naturalspeech3/audio/vc/{Prompt,Source,Generate}/N.wav"),
    ],
    "aijianiula0601/FlowCPCVC": [
        Rule(r"^any2any/(?P<s>[^/]+)/source_target_wavs/(?P<p>(?P<src>.+)_to_(?P<tgt>.+))/(?P<f>.+)\.wav$", role=E,
             kind="vc", key_fn=lambda m: f"{m['s']}/{m['p']}" if m["f"] == m["tgt"] else None,
             note="any2any/<set>/source_target_wavs/<src>_to_<tgt>/<tgt>.wav = target voice; "
                  "<system>/<src>_to_<tgt>.wav clones (any2many left out: its target clip is labelled spoof)"),
        Rule(r"^any2any/(?P<s>[^/]+)/(?:flowcpcvc|fragementvc|mediumvc)/(?P<p>.+_to_.+)\.wav$", role=C, kind="vc",
             key_fn=lambda m: f"{m['s']}/{m['p']}"),
    ],
    "clam-tts/clam-tts.github.io": [
        Rule(r"^audios/(?P<k>(?:famous|librispeech|mls|vctk)/[^/]+?)_(?P<r>prompt|gt|ours_all|ours_gen|ours_prompt|"
             r"vall-e)\.wav$", _roles(["prompt"], ["gt"], skip=["ours_prompt"]),
             note="audios/<set>/<id>_{prompt,gt,ours_all,ours_gen,vall-e}.wav; ours_prompt (a resynthesis "
                  "of the prompt itself) left out"),
        Rule(r"^audios/librispeech_16kHz/(?P<r>[^/]+)/(?P<i>\d+)\.wav$", _roles(["prompt"], ["gt"]),
             key_fn=lambda m: f"librispeech_16kHz/{m['i']}",
             note="audios/librispeech_16kHz/{prompt,gt,<system>}/N.wav"),
    ],
    "diffvc-fast-ml-solver/diffvc-fast-ml-solver.github.io": [
        Rule(r"^resources/audio/(?P<src>[^/-]+)-(?P<tgt>[^/]+)/(?P<r>[^/]+)\.wav$", kind="vc", key_fn=_src_tgt,
             note="resources/audio/<src>-<tgt>/{source,target,<system>}.wav: clones are in <tgt>'s voice, "
                  "target.wav enrolls <tgt>; other target.wav / source.wav of the speaker are genuine"),
    ],
    "ditto-tts/ditto-tts.github.io": [
        Rule(r"^audios/(?P<k>anime/[a-z]+)_(?P<r>prompt|clam|megatts|ours_all)\.wav$", _roles(["prompt"]),
             note="audios/anime/<name>_{prompt,clam,megatts,ours_all}.wav"),
        Rule(r"^audios/(?P<k>comparison/(?:e3tts|ns3|simpletts)/.+?)(?:_(?P<r>wav_p|ours))?\.wav$", _roles(["wav_p"]),
             note="audios/comparison/<baseline>/<id>{,_ours,_wav_p}.wav: _wav_p = prompt, <id>.wav = the "
                  "baseline's clone; voicebox set left out (its prompt has another id)"),
        Rule(r"^audios/(?P<k>multi/.+?)_(?P<r>prompt|gt|clam|ours_all)\.wav$", _roles(["prompt"], ["gt"]),
             note="audios/multi/<id>_{prompt,gt,clam,ours_all}.wav"),
        Rule(r"^audios/ravdess/gt/(?P<k>rvd_bm_\d+_[a-z]+?)(?:_(?P<r>wav_p|ours))?\.wav$", _roles(["wav_p"], [""]),
             note="audios/ravdess/gt/<id>{,_wav_p,_ours}.wav: <id> = ground truth, _wav_p = prompt, _ours = "
                  "DiTTo; audios/ravdess/<baseline>/<id>.wav = the baseline's clone (that folder's copies of "
                  "_ours / _wav_p are left out: duplicates, mislabelled)"),
        Rule(r"^audios/ravdess/(?:hierspeechpp|megatts2|ns2|ns3|styletts2|valler|voiceboxr)/(?P<k>rvd_bm_\d+_[a-z]+)"
             r"\.wav$", role=C),
        # prompts kept by the CLaM-TTS page (see EXTERNAL)
        Rule(r"^audios/(?P<k>(?:famous|librispeech|mls)/[^/]+?)_ours_all\.wav$", role=C),
        Rule(r"^audios/librispeech_16kHz/ours/(?P<i>\d+)\.wav$", role=C, key_fn=lambda m: f"librispeech_16kHz/{m['i']}"),
    ],
    "e1tts/e1tts.github.io": [
        Rule(r"^samples/(?P<s>prompt|robust)/(?P<r>[^/]+)/(?P<i>[^/]+)\.wav$",
             _roles(["prompt"], ["ground_truth"], skip=["token_reconstruct_dmd"]), key_fn=lambda m: f"{m['s']}/{m['i']}",
             note="samples/{prompt,robust}/{prompt,ground_truth,<system>}/<id>.wav; token_reconstruct_dmd "
                  "(a resynthesis of the ground truth) left out"),
        Rule(r"^samples/demo_compare/(?P<r>[^/]+)/(?P<i>\d+)\.wav$", _roles(["prompt"], ["gt"]),
             key_fn=lambda m: f"demo_compare/{m['i']}", note="samples/demo_compare/{prompt,gt,<system>}/N.wav"),
        Rule(r"^samples/celeb/[^/]+/(?P<i>[a-z]+)\.wav$", role=C, key_fn=lambda m: f"famous/{m['i']}",
             note="samples/celeb/<system>/<name>.wav: prompts on the CLaM-TTS page (EXTERNAL)"),
    ],
    "ericwudayi/vqvc": [
        Rule(r"^(?P<k>demo\d*/demo[^/]+)/(?P<r>inp2|inp|convert)\.wav$", _roles(["inp2"], skip=["inp"]), kind="vc",
             note="<demo>/<id>/{inp,inp2,convert}.wav: convert = inp's words in inp2's voice (lengths match inp)"),
    ],
    "fishaudio/fish-speech": [
        Rule(r"^docs/assets/audios/(?P<k>\d+)_(?P<r>input|output)\.wav$", _roles(["input"]),
             note="docs/assets/audios/N_{input,output}.wav"),
    ],
    "flashspeech/flashspeech.github.io": [
        Rule(r"^(?P<s>dataset_(?:acoustic_maintenance|emotion_maintenance|vb|vctk))/(?P<r>[^/]+)/(?P<i>\d+)\.wav$",
             _roles(["ref"], ["gt"]), key_fn=lambda m: f"{m['s']}/{m['i']}",
             note="dataset_<set>/{ref,gt,<system>}/N.wav"),
        Rule(r"^dataset_vc/(?P<r>[^/]+)/(?P<i>\d+)\.wav$", _roles(["ref"], skip=["ori"]), kind="vc",
             key_fn=lambda m: f"dataset_vc/{m['i']}", note="dataset_vc/{ref,ori,<system>}/N.wav: ori = source"),
    ],
    "jasonppy/VoiceCraft_web": [
        Rule(r"^static/audio_sample/tts/(?P<k>.+)_(?P<r>prompt|orig|fs|valle|ve|xtts)\.wav$",
             _roles(["prompt"], ["orig"]), note="static/audio_sample/tts/<id>_{prompt,orig,fs,valle,ve,xtts}.wav"),
    ],
    "keonlee9420/STYLER-Demo": [
        Rule(r"^src/style_transfers/(?P<k>[^/]+)/[^/]+_(?P<r>ref|styler|mellotron|fastspeech2)\.wav$",
             _roles(["ref"]), note="src/style_transfers/<dir>/<id>_{ref,<system>}.wav (the reference gives "
                                     "the voice)"),
        Rule(r"^src/robustness/noisy/(?P<k>p\d+_\d+)_(?P<r>ref_SNR_23|styler_clean|styler_noisy|mellotron)\.wav$",
             _roles(["ref_SNR_23"]), note="src/robustness/noisy/<id>_{ref_SNR_23,<system>}.wav"),
    ],
    "lvc-vc/lvc-vc-demo": [
        Rule(r"^audio/vctk_orig/(?P<k>p\d+_\d+)\.wav$", role=E, kind="vc", speaker_fn=lambda k: k.split("_")[0],
             note="audio/<system>/<set>/<src>_<u>_<tgt>_<v>.wav converts VCTK clip <src>_<u> to the voice "
                  "of <tgt>_<v> (audio/vctk_orig/<tgt>_<v>.wav); anonymisation outputs left out"),
        Rule(r"^audio/(?:adain|again|blow|lvc_vc|lvc_vc_xl|nvcnet)/[^/]+/p\d+_\d+_(?P<k>p\d+_\d+)\.wav$", role=C,
             kind="vc", speaker_fn=lambda k: k.split("_")[0]),
    ],
    "mSpeechTokenizer/mSpeechTokenizer.github.io": [
        Rule(r"^resources/audio/2/(?P<k>\w\w_\d+)_(?P<r>ref|gen)_(?P<n>\d)\.(?:wav|flac)$", _roles(["ref"]), kind="vc",
             key_fn=lambda m: f"{m['k']}_{m['n']}",
             note="resources/audio/2/<id>_{orig,ref_n,gen_n}: gen_n = orig's words in ref_n's voice"),
    ],
    "sh-lee-prml/HierSpeechpp-demo": [
        Rule(r"^audio/4_zeroshot_vc/GT_target_same_uttr/p\d+_\d+_to_(?P<k>p\d+)_\d+\.wav$", role=G, kind="vc",
             note="audio/4_zeroshot_vc/<system>/<src>_to_<tgt>_<u>.wav; enrollment audio/GT_VCTK/<tgt>_*.wav "
                  "(first of the speaker's clips), genuine: the speaker's other GT_VCTK clips and "
                  "GT_target_same_uttr"),
        Rule(r"^audio/4_zeroshot_vc/[^/]+/p\d+_\d+_to_(?P<k>p\d+)_\d+\.wav$", role=C, kind="vc"),
        Rule(r"^audio/GT_VCTK/(?P<k>p\d+)_\d+\.wav$", role=E, kind="vc"),
        Rule(r"^audio/1_zeroshot_tts/(?P<r>[^/]+)/(?P<i>[^/]+)\.wav$", _roles(genuine=["libritts_test_clean_full"]),
             enroll_from="gt", key_fn=lambda m: f"1_zeroshot_tts/{m['i']}",
             note="audio/1_zeroshot_tts/<system>/<id>.wav beside libritts_test_clean_full/<id>.wav (the "
                  "speaker's real recording; enrolls)"),
        Rule(r"^audio/0_zeroshot_tts/(?P<r>expresso_tts|expresso_tts_hier)/(?P<i>[^/]+)\.wav$",
             _roles(["expresso_tts"]), key_fn=lambda m: f"0_zeroshot_tts/{m['i']}",
             note="audio/0_zeroshot_tts/expresso_tts/<id>.wav (prompt) beside expresso_tts_hier/<id>.wav"),
        Rule(r"^audio/2_Table11/(?P<r>[^/]+)/(?P<i>reference_\d+)\.wav$",
             _roles(["naturalspeech2_reference"], ["naturalspeech2_gt"]), key_fn=lambda m: f"2_Table11/{m['i']}",
             note="audio/2_Table11/{naturalspeech2_reference,naturalspeech2_gt,<system>}/reference_N.wav"),
        Rule(r"^audio/3_mega/prompt/3_(?P<k>[a-z]+?)_gt\.wav$", role=E,
             note="audio/3_mega/prompt/3_<name>_gt.wav (prompt) beside megatts/3_<name>.wav and "
                  "hierspeech_for_megatts/3_<name>_gt.wav"),
        Rule(r"^audio/3_mega/(?:megatts|hierspeech_for_megatts)/3_(?P<k>[a-z]+?)(?:_gt)?\.wav$", role=C,
             key_fn=lambda m: m["k"].replace("spongbob", "spongebob")),
    ],
    "starganv2-vc/starganv2-vc.github.io": [
        Rule(r"^wav/VCTK/(?:Seen|Unseen)/[^/]+/(?P<src>p\d+)x(?P<tgt>p\d+)/(?P<r>[^/]+)\.wav$", kind="vc",
             key_fn=_src_tgt, note="wav/VCTK/{Seen,Unseen}/<G>/<src>x<tgt>/{source,target,<system>}.wav (as Diff-VC)"),
        Rule(r"^wav/VCTK/(?P<k>Crosslingual/[^/]+)/(?P<r>[^/]+)\.wav$", _roles(["target"], skip=["source"]), kind="vc",
             note="wav/VCTK/Crosslingual/<lang>/{source,target,<pNNN>}.wav"),
        Rule(r"^wav/(?P<k>Ablation/p\d+_to_p\d+)/(?P<r>[^/]+)\.wav$", _roles(["reference"], skip=["original"]),
             kind="vc", note="wav/Ablation/<src>_to_<tgt>/{original,reference,<variant>}.wav"),
    ],
    "styletts-zs/styletts-zs.github.io": [
        Rule(r"^samples/(?P<s>LL_1|LT|abstract)/(?P<r>[^/]+)/(?P<i>\d+)\.wav$", _roles(["prompt"], ["gt"]),
             key_fn=lambda m: f"{m['s']}/{m['i']}",
             note="samples/{LL_1,LT,abstract}/{prompt,gt,<system>}/N.wav (LL_2: no prompt folder, left out)"),
        Rule(r"^samples/vc/(?P<r>[^/]+)/(?P<i>\d+)\.wav$", _roles(["prompt"], skip=["source", "reference"]),
             kind="vc", key_fn=lambda m: f"vc/{m['i']}", note="samples/vc/{prompt,source,<system>}/N.wav"),
    ],
    "styletts2/styletts2.github.io": [
        Rule(r"^wavs/(?P<s>LibriTTS|VCTK)/(?P<r>Ref|GT|StyleTTS2|VallE|NaturalSpeech2)/(?P<i>[^/]+)\.wav$",
             _roles(["Ref"], ["GT"]), key_fn=lambda m: f"{m['s']}/{m['i']}",
             note="wavs/{LibriTTS,VCTK}/{Ref,GT,<system>}/<id>.wav (zero-shot systems only: the page's "
                  "StyleTTS / VITS columns are multi-speaker models, not clones of the reference)"),
    ],
    "unitspeech/unitspeech.github.io": [
        Rule(r"^wavs/(?P<k>Libri_16k_VC/\d+)_(?P<r>reference|source|diffvc)\.wav$", _roles(["reference"],
             skip=["source"]), kind="vc", note="wavs/Libri_16k_VC/N_{reference,source,diffvc}.wav"),
    ],
    "vs-tts123/VSTTS-Demo": [
        Rule(r"^assets/audios/(?P<k>libritts\((?:un)?seen\)/(?:pitch|speed|volume))/(?P<r>audio_prompt|[a-z]+-[a-z]+-"
             r"[a-z]+)\.wav$", _roles(["audio_prompt"]),
             note="assets/audios/libritts(...)/<attr>/{audio_prompt,<system>-<attr>-<level>}.wav"),
        Rule(r"^assets/audios/(?P<k>rebuttal/sample\d+)/(?P<r>audio_prompt|vstts)\.wav$", _roles(["audio_prompt"]),
             note="assets/audios/rebuttal/sampleN/{audio_prompt,vstts}.wav"),
    ],
    "yangdongchao/NoreSpeech_demo": [
        Rule(r"^(?P<k>sample\d+/[\d_]+)_(?P<r>ref_clean|ref_noise|ref_noisy|nore|styler|gener_\w+|gner_\w+|fs2|FS2)"
             r"\.wav$", _roles(["ref_clean"], skip=["ref_noise", "ref_noisy"]),
             note="sampleN/<id>_{ref_clean,ref_noise,<system>}.wav"),
    ],
    "yangdongchao/SimpleSpeech2_demo": [
        Rule(r"^compare_baseline_mos/(?P<r>ref2|gt|HierSpeechpp|VoiceCraft|ns2|ns3|simplespeech2|vallex|xTTS)/"
             r"(?P<i>[^/]+)\.wav$", _roles(["ref2"], ["gt"]), key_fn=lambda m: f"compare_baseline_mos/{m['i']}",
             note="compare_baseline_mos/{ref2,gt,<system>}/<id>.wav (ref2 = prompt); the folder named valle "
                  "holds files labelled SimpleSpeech 2, and chattts is not a cloner: both left out"),
        Rule(r"^compare_baseline_mos/e3tts/(?P<r>prompt2|e3tts|simplespeech2)/(?P<i>[^/]+)\.wav$",
             _roles(["prompt2"]), key_fn=lambda m: f"e3tts/{m['i']}",
             note="compare_baseline_mos/e3tts/{prompt2,e3tts,simplespeech2}/<id>.wav"),
    ],
    "yangdongchao/UniAudio2Demo": [
        Rule(r"^audio_instruct_tts/(?P<l>EN|ZH)/(?:prompt/)?(?P<i>[^/]+)\.(?:wav|flac)$", role=None,
             key_fn=lambda m: f"audio_instruct_tts/{m['l']}/{m['i']}",
             note="audio_instruct_tts/<lang>/prompt/<id> beside audio_instruct_tts/<lang>/<id>"),
    ],
    "yangdongchao/UniAudio_demo": [
        Rule(r"^zero_shot_tts/(?P<r>ref|gt|gen)/(?P<i>[^/]+)\.wav$", _roles(["ref"], ["gt"]),
             key_fn=lambda m: f"zero_shot_tts/{m['i']}", note="zero_shot_tts/{ref,gt,gen}/<id>.wav"),
        Rule(r"^zero_shot_vc/(?P<r>prompt|gt|gen|source)/(?P<i>[^/]+)\.wav$", _roles(["prompt"], ["gt"], ["source"]),
             kind="vc", key_fn=lambda m: f"zero_shot_vc/{m['i']}", note="zero_shot_vc/{prompt,source,gt,gen}/<id>.wav"),
        Rule(r"^zero_shot_tts/famous/(?P<k>[^/]+)/[^/]+\.wav$", role=None,
             note="zero_shot_tts/famous/<name>/: the real clip(s) enroll, *_sampling_* are the clones"),
    ],
    "yryMax/AdvSpeech": [
        Rule(r"^(?:sample_web/)?audios/(?P<k>cn_sample)/(?P<r>original|original_cosyvoice|antifake_cosyvoice|"
             r"ours_sfm_ws_ref_cosyvoice)\.wav$", _roles(["original"]),
             note="audios/<set>/{original,<variant>_cosyvoice}.wav: CosyVoice clones of the original (some "
                  "from a protected copy of it); sample_web/ repeats audios/ (duplicates dropped by md5)"),
        Rule(r"^(?:sample_web/)?audios/(?P<k>en_sample)/(?P<r>libri_5694|libri_\w*cosyvoice)\.wav$", _roles(["libri_5694"])),
        Rule(r"^sample_web/audios/(?P<k>V2_cosyvoice)/(?P<r>2277_1|2277_1_syn|2277_1_syn_GT)\.wav$", _roles(["2277_1"])),
    ],
    "zipvoice/zipvoice.github.io": [
        Rule(r"^audios/zero_shot/(?P<k>seedtts_ref_\w\w_\d+)_gen_\w\w_\w+\.wav$", role=C,
             note="audios/zero_shot/<prompt>_gen_<lang>_<system>.wav: prompts on the F5-TTS page (EXTERNAL)"),
    ],
}

#: Clones whose prompt / ground truth the import kept on another page (same recording, exact
#: duplicate): (repository, key regex) -> (other repository, path template of enroll / genuine).
EXTERNAL: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ("ditto-tts/ditto-tts.github.io", r"^(famous|librispeech|mls)/(.+)$"):
        ("clam-tts/clam-tts.github.io", "audios/{0}/{1}_prompt.wav", "audios/{0}/{1}_gt.wav"),
    ("ditto-tts/ditto-tts.github.io", r"^librispeech_16kHz/(\d+)$"):
        ("clam-tts/clam-tts.github.io", "audios/librispeech_16kHz/prompt/{0}.wav", "audios/librispeech_16kHz/gt/{0}.wav"),
    ("e1tts/e1tts.github.io", r"^famous/(.+)$"):
        ("clam-tts/clam-tts.github.io", "audios/famous/{0}_prompt.wav", None),
    ("zipvoice/zipvoice.github.io", r"^(.+)$"):
        ("SWivid/SWivid.github.io", "F5-TTS/audios/zero_shot/{0}.wav", None),
}

#: Pages (or sets) with zero-shot / conversion clones left out, and why.
SKIPPED = {
    "neonbjb/tortoise-tts": "no real recording of the cloned voices on the page",
    "Face-StyleSpeech/Face-StyleSpeech.github.io": "face-conditioned TTS, no real recording of the voice",
    "SpeechResearch/speechresearch.github.io naturalspeech2/audio/compare_with_valle":
        "the prompt and ground truth are labelled spoof (VALL-E) in the list",
    "controlspeech/controlspeech.github.io": "the voice prompt of most outputs is not on the page",
    "yangdongchao/UniAudio2Demo few_shot_vc": "few-shot demonstrations: which clip gives the voice is not in the paths",
    "aijianiula0601/FlowCPCVC any2many": "the target speaker's clip is labelled spoof in the list",
    "ditto-tts/ditto-tts.github.io ravdess/zs_emo, speaker_diversity, robust":
        "prompts of zs_emo are labelled spoof (NaturalSpeech 3); the others have no prompt",
    "styletts-zs/styletts-zs.github.io LL_2": "no prompt folder",
    "speech editing (VoiceCraft, UniAudio, FlashSpeech, StyleTTS-ZS, DiTTo)":
        "partial edits of the real recording, not clones of the voice",
    "single-speaker TTS, vocoder and codec pages": "copies of a recording or a voice trained on, not zero-shot clones",
}


@dataclass
class Group:
    """Files of one prompt (one enrolled customer) on one page."""

    page: str
    key: str
    kind: str
    enroll: dict | None = None
    enroll_from: str = "prompt"
    genuine: list = field(default_factory=list)
    clones: list = field(default_factory=list)
    rule: str = ""


def read_manifest(demos: Path) -> list[dict]:
    with open(demos / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _match(repo: str, sp: str):
    for rule in RULES.get(repo, []):
        m = rule.rx.match(sp)
        if m:
            return rule, m
    return None, None


def build_groups(demos: Path = DEFAULT_DEMOS, *, min_enroll_s: float = 3.0) -> tuple[list[Group], dict]:
    """All trial groups of the pages, and counts of what was left out.

    ``min_enroll_s``: an enrollment file shorter than this (file duration) is not used.
    """
    rows = read_manifest(demos)
    by_path = {(r["repo"], r["source_path"]): r for r in rows}
    bona_md5 = {r["md5"] for r in rows if r["label"] == "bonafide"}
    groups: dict[tuple[str, str], Group] = {}
    stats: dict = defaultdict(int)
    seen_md5: set = set()
    speaker_of: dict[tuple[str, str], str] = {}
    speaker_files: dict[tuple[str, str], list] = defaultdict(list)
    for r in rows:
        repo, sp = r["repo"], r["source_path"]
        rule, m = _match(repo, sp)
        if rule is None:
            continue
        tok = m.groupdict().get("r")
        if rule.key_fn is not None:
            got = rule.key_fn(m)
        else:
            got = m.groupdict().get("k")
        if got is None:
            continue
        if isinstance(got, list):
            emits = got
        else:
            role = rule.role
            if role is None:
                if not rule.roles and tok is None:
                    role = E if r["label"] == "bonafide" else C
                else:
                    role = rule.roles.get(tok if tok is not None else "", C)
            emits = [(got, role)]
        for key, role in emits:
            if role == X:
                continue
            if role in (E, G) and r["label"] != "bonafide":
                stats["real role but labelled spoof (left out)"] += 1
                continue
            if role == C:
                if r["label"] != "spoof":
                    stats["clone role but labelled bonafide (left out)"] += 1
                    continue
                if r["md5"] in bona_md5:
                    stats["spoof file identical to a real file (left out)"] += 1
                    continue
                if r["md5"] in seen_md5:
                    stats["duplicate clone (left out)"] += 1
                    continue
                seen_md5.add(r["md5"])
            g = groups.setdefault((repo, key), Group(repo, key, rule.kind, enroll_from=rule.enroll_from,
                                                     rule=rule.note or rule.pattern))
            spk = rule.speaker_fn(key) if rule.speaker_fn is not None else key
            speaker_of[(repo, key)] = spk
            item = {"path": r["path"], "source_path": sp, "system": r["system"], "duration_s": float(r["duration_s"]),
                    "md5": r["md5"], "repo": repo}
            if role in (E, G):
                speaker_files[(repo, spk)].append(item)
            if role == E:
                if g.enroll is None or sp < g.enroll["source_path"]:
                    if g.enroll is not None:
                        g.genuine.append(g.enroll)
                    g.enroll = item
                else:
                    g.genuine.append(item)
            elif role == G:
                g.genuine.append(item)
            else:
                g.clones.append(item)
    # prompts kept by another page
    for (repo, krx), (orepo, etpl, gtpl) in EXTERNAL.items():
        for (grepo, key), g in groups.items():
            if grepo != repo or g.enroll is not None:
                continue
            m = re.match(krx, key)
            if not m:
                continue
            e = by_path.get((orepo, etpl.format(*m.groups())))
            if e is None or e["label"] != "bonafide":
                continue
            g.enroll = {"path": e["path"], "source_path": e["source_path"], "system": "-", "repo": orepo,
                        "duration_s": float(e["duration_s"]), "md5": e["md5"]}
            if gtpl:
                gt = by_path.get((orepo, gtpl.format(*m.groups())))
                if gt is not None and gt["label"] == "bonafide":
                    g.genuine.append({"path": gt["path"], "source_path": gt["source_path"], "system": "-",
                                      "repo": orepo, "duration_s": float(gt["duration_s"]), "md5": gt["md5"]})
            g.rule += f" | enrollment from {orepo} ({etpl})"
    out = []
    for g in groups.values():
        if g.enroll is None and g.enroll_from == "gt" and g.genuine:
            g.genuine.sort(key=lambda d: d["source_path"])
            g.enroll = g.genuine.pop(0)
        if g.enroll is None:
            stats["groups without an enrollment file"] += 1
            continue
        if not g.clones:
            stats["groups without clones"] += 1
            continue
        if g.enroll["duration_s"] < min_enroll_s:
            stats[f"groups whose enrollment is shorter than {min_enroll_s:g} s"] += 1
            continue
        # the speaker's real clips elsewhere on the page are genuine trials too
        have = {d["md5"] for d in g.genuine} | {g.enroll["md5"]}
        for d in speaker_files.get((g.page, speaker_of.get((g.page, g.key), g.key)), []):
            if d["md5"] not in have:
                g.genuine.append(d)
                have.add(d["md5"])
        # a genuine file identical to the enrollment is no trial
        g.genuine = [d for d in g.genuine if d["md5"] != g.enroll["md5"]]
        out.append(g)
    out.sort(key=lambda g: (g.page, g.key))
    return out, dict(stats)


def write_tsv(groups: list[Group], path: Path) -> None:
    """One line per file: page, group key, role, kind, system, path (relative to the demos folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["page", "group", "role", "kind", "enroll_from", "system", "path", "source_repo", "source_path",
                    "duration_s"])
        for g in groups:
            for role, items in (("enroll", [g.enroll]), ("genuine", g.genuine), ("clone", g.clones)):
                for d in items:
                    w.writerow([g.page, g.key, role, g.kind, g.enroll_from, d["system"], d["path"], d["repo"],
                                d["source_path"], f"{d['duration_s']:.3f}"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demos", type=Path, default=DEFAULT_DEMOS, help="imported demo audio with MANIFEST.tsv")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "trials" / "sasv_pages.tsv")
    args = ap.parse_args(argv)
    groups, stats = build_groups(args.demos)
    write_tsv(groups, args.out)
    per = defaultdict(lambda: [0, 0, 0])
    for g in groups:
        per[g.page][0] += 1
        per[g.page][1] += len(g.genuine)
        per[g.page][2] += len(g.clones)
    for p, (n, gn, c) in sorted(per.items()):
        print(f"{p:55s} groups {n:3d}  genuine {gn:3d}  clones {c:4d}")
    print(f"total: {len(groups)} groups, {sum(len(g.genuine) for g in groups)} genuine, "
          f"{sum(len(g.clones) for g in groups)} clones")
    for k, v in sorted(stats.items()):
        print(f"  {k}: {v}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
