"""What the model cards say of the bundled examples holds (issue 23, item 17: the card said the
fast model misses the Griffin-Lim copy; it flags it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceguard.detect.detector import Detector

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_fast_model_catches_the_griffin_lim_copy_and_misses_the_world_copy() -> None:
    det = Detector("fast")
    gl = det.score(EXAMPLES / "spoof_griffinlim_copy.flac")
    world = det.score(EXAMPLES / "spoof_world_copy.flac")
    assert gl.verdict == "spoof" and gl.spoof_probability == pytest.approx(0.883, abs=0.005)
    assert world.verdict == "bonafide" and world.spoof_probability == pytest.approx(0.415, abs=0.005)
    card = (ROOT / "models" / "MODEL_CARD.md").read_text(encoding="utf-8")
    fast_card = (ROOT / "models" / "MODEL_CARD-fast.md").read_text(encoding="utf-8")
    assert "fast model catches the Griffin-Lim copy (0.883) and misses the WORLD copy (0.415)" in card
    assert "misses both" not in card
    assert "the Griffin-Lim copy is caught (spoof_probability\n  0.883)" in fast_card
