"""Block geometry: blocks and windows as the training cache defines them, the block encoder
against an independent re-implementation of the reference (Whisper's own conv stem, one
batch per recording), and the guarantees streaming relies on (batch and piece size do not
change anything)."""

from __future__ import annotations

import numpy as np
import pytest

from voiceguard.detect.blocks import BlockEncoder, BlockGeometry, BlockModel, BlockSession

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BLOCK = 32000


# -- the reference definitions (a copy of voiceguard.training.frames on the issue-24 branch) --

def ref_block_bounds(n: int, block: int) -> list[tuple[int, int]]:
    if n <= 0:
        return []
    return [(a, min(n, a + block)) for a in range(0, n, block)]


def ref_window_blocks(n_blocks: int, per: int = 2) -> list[tuple[int, int]]:
    if n_blocks <= per:
        return [(0, n_blocks)] if n_blocks else []
    return [(k, k + per) for k in range(n_blocks - per + 1)]


def ref_encode_blocks(encoder, y: np.ndarray, layers, block: int):
    """All full blocks in one batch through the encoder's own forward (conv1d stem), the
    tail alone, padded to 400 samples."""
    import torch

    from voiceguard.detect.frontends import whisper

    bounds = ref_block_bounds(len(y), block)
    full = [(a, b) for a, b in bounds if b - a == block]
    parts: list[list] = [[] for _ in layers]
    if full:
        mel = torch.stack([whisper.log_mel(y[a:b]) for a, b in full])
        for i, s in enumerate(encoder.forward(mel, layers)):
            parts[i].append(s.reshape(-1, s.shape[-1]))
    if bounds and bounds[-1][1] - bounds[-1][0] != block:
        tail = y[bounds[-1][0]:]
        tail = np.pad(tail, (0, max(0, 400 - len(tail))))
        for i, s in enumerate(encoder.forward(whisper.log_mel(tail), layers)):
            parts[i].append(s[0])
    return [torch.cat(p) for p in parts]


@pytest.fixture(scope="module")
def encoder():
    from voiceguard.detect.frontends.whisper import load_encoder

    return load_encoder("base", n_layers=3)


@pytest.fixture(scope="module")
def long_speech(speech, speech_b) -> np.ndarray:
    return np.tile(np.concatenate([speech, speech_b]), 3)  # 16.5 s


@pytest.mark.parametrize("n", [0, 1, 399, 400, 31999, 32000, 32001, 64000, 64001, 95999, 160123])
@pytest.mark.parametrize("per", [1, 2, 3])
def test_geometry_matches_the_reference(n, per) -> None:
    g = BlockGeometry(BLOCK, per)
    bounds = ref_block_bounds(n, BLOCK)
    assert g.bounds(n) == bounds
    assert g.windows(len(bounds)) == ref_window_blocks(len(bounds), per)
    assert g.window_samples(n) == [(bounds[a][0], bounds[b - 1][1]) for a, b in ref_window_blocks(len(bounds), per)]


def test_geometry_rejects_nonsense() -> None:
    from voiceguard.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError):
        BlockGeometry(100)
    with pytest.raises(InvalidParameterError):
        BlockGeometry(BLOCK, 0)
    assert BlockGeometry.from_seconds(2.0) == BlockGeometry(BLOCK, 2)


@pytest.mark.parametrize("n", [250, 32000, 70001, 200000])
def test_session_cuts_the_reference_blocks_from_any_pieces(n, rng) -> None:
    y = rng.standard_normal(n)
    s = BlockSession(BlockGeometry(BLOCK))
    blocks, i = [], 0
    while i < n:
        k = int(rng.integers(1, 9000))
        blocks += s.push(y[i: i + k])
        i += k
    blocks += s.finish()
    assert [(b.start, b.start + len(b.audio)) for b in blocks] == ref_block_bounds(n, BLOCK)
    for b in blocks:
        np.testing.assert_array_equal(b.audio, y[b.start: b.start + len(b.audio)])
    import torch

    for b in blocks:
        b.frames = (torch.zeros(1, 2),)
    windows = s.take_windows()
    assert [(w.first, w.stop_block) for w in windows] == ref_window_blocks(len(blocks))
    assert s.complete


def test_windows_wait_for_their_blocks_and_come_in_order(rng) -> None:
    import torch

    s = BlockSession(BlockGeometry(BLOCK))
    blocks = s.push(rng.standard_normal(3 * BLOCK + 10)) + s.finish()
    assert len(blocks) == 4
    blocks[1].frames = (torch.ones(3, 2),)
    assert s.take_windows() == []  # block 0 not encoded yet
    blocks[0].frames = (torch.zeros(3, 2),)
    ready = s.take_windows()
    assert [(w.first, w.stop_block) for w in ready] == [(0, 2)]
    assert ready[0].frames[0].shape == (6, 2)
    assert (ready[0].start, ready[0].stop) == (0, 2 * BLOCK)
    blocks[2].frames = blocks[3].frames = (torch.ones(1, 2),)
    assert [(w.first, w.stop_block) for w in s.take_windows()] == [(1, 3), (2, 4)]


def test_overlapping_units_for_the_live_grid(rng) -> None:
    y = rng.standard_normal(8 * 16000)
    s = BlockSession(BlockGeometry(64000, 1), hop=32000)
    blocks = []
    for i in range(0, 5 * 16000, 3000):
        blocks += s.push(y[i: min(i + 3000, 5 * 16000)])
    assert [b.start for b in blocks] == [0]
    blocks += s.push(y[5 * 16000:])
    assert [b.start for b in blocks] == [0, 32000, 64000]
    for b in blocks:
        np.testing.assert_array_equal(b.audio, y[b.start: b.start + 64000])
    assert s.finish() == []  # overlapping units have no tail


@pytest.mark.parametrize("n", [300, 32000, 70001, 165000])
def test_block_frames_match_the_reference(encoder, long_speech, n) -> None:
    import torch

    y = np.resize(long_speech, n)
    ref = ref_encode_blocks(encoder, y, [2, 3], BLOCK)
    be = BlockEncoder(encoder, [2, 3])
    got = be.encode([y[a:b] for a, b in ref_block_bounds(n, BLOCK)])
    for layer in range(2):
        cat = torch.cat([g[layer] for g in got])
        assert cat.shape == ref[layer].shape
        # the stem as matrix products instead of conv1d: the same arithmetic, summed in
        # another order (measured: at most 3e-5 on values up to 10)
        torch.testing.assert_close(cat, ref[layer], atol=2e-4, rtol=0)


def test_block_frames_do_not_depend_on_the_batch(encoder, long_speech) -> None:
    import torch

    be = BlockEncoder(encoder, [0, 2, 3])
    blocks = [long_speech[a:b] for a, b in ref_block_bounds(len(long_speech), BLOCK)]
    whole = be.encode(blocks, batch=16)
    for batch in (1, 3):
        part = be.encode(blocks, batch=batch)
        for a, b in zip(whole, part):
            for x, y in zip(a, b):
                assert torch.equal(x, y)


def test_tuned_copies_of_the_frozen_blocks_give_the_frozen_frames(encoder, long_speech) -> None:
    """A model with trainable copies of blocks 2-3 (what fine-tuning starts from) runs them in
    each block's pass exactly where the frozen ones ran."""
    import copy

    import torch

    class Tuned(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = 1
            self.blocks = torch.nn.ModuleList([copy.deepcopy(encoder.module.blocks[i]) for i in (1, 2)])

        def forward(self, x):
            outs = []
            for blk in self.blocks:
                x = blk(x)
                outs.append(x)
            return outs

    blocks = [long_speech[:BLOCK], long_speech[BLOCK: BLOCK + 5000]]
    frozen = BlockEncoder(encoder, [2, 3]).encode(blocks)
    tuned = BlockEncoder(encoder, [2, 3], tuned=Tuned()).encode(blocks)
    for a, b in zip(frozen, tuned):
        for x, y in zip(a, b):
            assert torch.equal(x, y)


def test_window_scores_do_not_depend_on_batching(encoder, long_speech) -> None:
    import torch

    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(4 * 512, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).eval()
    model = BlockModel(BlockEncoder(encoder, [2, 3]), head, BlockGeometry(BLOCK))

    def scores(batch: int) -> list[float]:
        s = model.session()
        blocks = s.push(long_speech) + s.finish()
        for i in range(0, len(blocks), batch):
            model.encode(blocks[i: i + batch], batch=batch)
        w = s.take_windows()
        return list(model.score_windows(w))

    one = scores(1)
    assert len(one) == len(ref_window_blocks(len(ref_block_bounds(len(long_speech), BLOCK))))
    assert scores(4) == one
