"""Issue 24's training tools: block geometry, folds by system, frame models, the splice rule."""

from __future__ import annotations

import numpy as np
import pytest

from voiceguard.training.frames import block_bounds, window_blocks
from voiceguard.training.systemfolds import deal, scheme_folds, system_label


def test_blocks_tile_the_signal_without_overlap():
    assert block_bounds(0, 32000) == []
    assert block_bounds(32000, 32000) == [(0, 32000)]
    b = block_bounds(70001, 32000)
    assert b == [(0, 32000), (32000, 64000), (64000, 70001)]
    assert sum(e - a for a, e in b) == 70001


def test_windows_are_pairs_of_consecutive_blocks():
    assert window_blocks(0) == []
    assert window_blocks(1) == [(0, 1)]
    assert window_blocks(2) == [(0, 2)]
    assert window_blocks(4) == [(0, 2), (1, 3), (2, 4)]


def test_block_encoding_does_not_depend_on_what_follows():
    # a block is encoded alone: the frames of the first blocks are the same whether the
    # recording stops there or goes on (what a live call needs)
    from voiceguard.detect.frontends.whisper import load_encoder
    from voiceguard.training.frames import encode_blocks

    rng = np.random.default_rng(0)
    y = 0.1 * rng.standard_normal(5 * 16000)
    enc = load_encoder("base", n_layers=2)
    whole, counts = encode_blocks(enc, y, [2], 32000)
    part, counts_part = encode_blocks(enc, y[:64000], [2], 32000)
    assert counts == [100, 100, 50] and counts_part == [100, 100]
    np.testing.assert_array_equal(whole[0][:200].numpy(), part[0].numpy())


def test_deal_balances_and_is_deterministic():
    w = {f"k{i}": float(i + 1) for i in range(20)}
    a = deal(w, 4)
    assert a == deal(dict(reversed(list(w.items()))), 4)
    loads = np.zeros(4)
    for k, f in a.items():
        loads[f] += w[k]
    assert loads.max() - loads.min() <= max(w.values())


class _Info:
    """The few ClipInfo columns the folds read."""

    def __init__(self, rows):
        cols = list(zip(*rows))
        self.label, self.split, self.system, self.repo, self.family, self.group = (np.asarray(c, dtype=object)
                                                                                   for c in cols)
        self.label = self.label.astype(int)
        self.band = np.asarray(["16k"] * len(rows), dtype=object)

    def __len__(self):
        return len(self.label)


def _toy_info():
    rows = []
    for repo, systems in (("a/x", ["VALL-E (from demo)", "BigVGAN"]), ("b/y", ["VALL-E (R) reproduction", "Vocos"]),
                          ("c/z", ["Tortoise TTS", "XTTS v2 (vocoder unstated)"])):
        for s in systems:
            for i in range(3):
                rows.append((0, "demo", f"{repo}|{s}", repo, "tts", f"demo.{repo}.{s}.{i}-00"))
        for i in range(4):
            rows.append((1, "demo", "-", repo, "bonafide", f"demo.{repo}.gt{i}-00"))
    for i in range(5):
        rows.append((1, "train", "-", "-", "bonafide", f"tr{i}-00"))
        rows.append((1, "val", "-", "-", "bonafide", f"va{i}-00"))
        rows.append((0, "train", "voc-world", "-", "dsp-vocoder", f"tr{i}-00"))
    return _Info(rows)


def test_a_system_fold_holds_its_system_out_on_every_page():
    info = _toy_info()
    folds = scheme_folds(info, "system", k=3)
    for _, train, test in folds:
        held = {system_label(s).split(" (")[0].split(" v2")[0] for s in info.system[test & (info.label == 0)]}
        trained = {system_label(s) for s in info.system[train & (info.label == 0)]}
        # VALL-E is on two pages: a fold testing it trains on neither page's VALL-E
        if "VALL-E" in held:
            assert not any(s.startswith("VALL-E") for s in trained)
        # XTTS descends from Tortoise: one cluster
        if "Tortoise TTS" in held or "XTTS" in held:
            assert not any(s.startswith(("Tortoise", "XTTS")) for s in trained)
        assert not np.any(train & test)
    # every demo spoof is tested exactly once
    tested = sum((t & (info.label == 0) & (info.split == "demo")).astype(int) for _, _, t in folds)
    assert np.all(tested[(info.label == 0) & (info.split == "demo")] == 1)


def test_the_held_out_half_of_page_recordings_is_never_trained_on():
    info = _toy_info()
    from voiceguard.training.systemfolds import eval_bonafide

    ev = eval_bonafide(info)
    assert ev.any()
    for scheme in ("system", "repos", "family", "none"):
        for _, train, test in scheme_folds(info, scheme, k=3):
            assert not np.any(train & ev)
            assert np.all(test[ev])


def test_local_rule_fit_separates_and_corrects_for_length():
    from voiceguard.training.partial import fit_local

    rng = np.random.default_rng(1)
    n = 4000
    # bona fide window minima fall with the number of windows; spliced ones are lower.
    # Equal-variance Gaussians: the true log-odds are 2 * (min + 0.5 ln n), i.e. alpha = 2, gamma = 1
    n_b, n_s = rng.integers(5, 60, n), rng.integers(5, 60, n)
    bona = np.c_[1.0 - 0.5 * np.log(n_b) + rng.normal(0, 1, n), np.log(n_b)]
    spoof = np.c_[-1.0 - 0.5 * np.log(n_s) + rng.normal(0, 1, n), np.log(n_s)]
    rule = fit_local(bona, spoof)
    assert rule.alpha == pytest.approx(2.0, rel=0.1)
    assert rule.gamma == pytest.approx(1.0, rel=0.15)  # undoes the drift of the minimum with length
    assert abs(rule.beta) < 0.2
    assert np.mean(rule.local(bona[:, 0], n_b) > 0) > 0.8
    assert np.mean(rule.local(spoof[:, 0], n_s) < 0) > 0.8


def test_frame_model_ignores_padding_and_tuned_blocks_start_as_whisper():
    import torch

    from voiceguard.detect.frontends.whisper import load_encoder
    from voiceguard.training.frame_head import FrameConfig, FrameModel

    torch.manual_seed(0)
    enc = load_encoder("base", n_layers=3)
    m = FrameModel(FrameConfig(layers=(2,), tune=1, depth=1), 512, 8, enc)
    m.train(False)
    x = torch.randn(1, 150, 1, 512)
    mask = torch.ones(1, 150, dtype=torch.bool)
    padded = torch.cat([x, torch.randn(1, 50, 1, 512)], 1)
    pmask = torch.cat([mask, torch.zeros(1, 50, dtype=torch.bool)], 1)
    with torch.no_grad():
        a = m(x, mask, np.array([100]))
        b = m(padded, pmask, np.array([100]))
        # the tuned copy of block 2 gives what the frozen encoder gives for a full block
        frames = torch.randn(1, 100, 512)
        (want,) = [s[0] for s in [enc.module.blocks[2](frames)]]
        got = m.tuned(frames, torch.ones(1, 100, dtype=torch.bool))[0][0]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_splice_keeps_length_and_levels_match():
    from voiceguard.training.splices import _speech_rms, _splice

    rng = np.random.default_rng(2)
    carrier = 0.05 * rng.standard_normal(20 * 16000)
    passage = 0.5 * rng.standard_normal(4 * 16000)
    out = _splice(carrier, passage, 8 * 16000)
    assert len(out) == len(carrier) + len(passage) - 2 * 160
    inserted = out[8 * 16000 + 1000: 8 * 16000 + 3 * 16000]
    assert _speech_rms(inserted) == pytest.approx(_speech_rms(carrier), rel=0.2)


def test_export_refuses_a_pooled_head_with_a_message(tmp_path):
    import dataclasses

    from voiceguard.errors import InvalidParameterError
    from voiceguard.training.frame_head import FrameConfig, export_model

    ev = {"config": dataclasses.asdict(FrameConfig(head="pooled")), "scheme": "system", "folds": {}}
    with pytest.raises(InvalidParameterError, match="whisper_head export"):
        export_model(tmp_path / "no-cache", ev, tmp_path / "out", name="m")
