"""Embedding cache -> held-out folds -> head export -> Detector, end to end on a tiny corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from voiceguard.data.manifest import ClipRow, Manifest, write_manifest
from voiceguard.training import embeddings
from voiceguard.training.heldout import HeadConfig, clip_info, folds, summarise_folds
from voiceguard.training.whisper_head import export_model, run_evaluation


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory, speech_int16):
    """Real speech (bona fide) and crudely 'vocoded' copies (spoof: a buzzy band-limited
    re-synthesis) from two fake demo repositories plus a corpus train/val split."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    y = speech_int16.astype(np.float64) / 32768.0
    rows = []

    def add(name, sig, **kw):
        sf.write(root / f"{name}.flac", sig, 16000, subtype="PCM_16")
        rows.append(ClipRow(path=f"{name}.flac", duration_s=len(sig) / 16000, **kw))

    def fake(sig):
        spec = np.fft.rfft(sig)
        spec[len(spec) // 3:] = 0
        z = np.fft.irfft(spec * np.exp(1j * rng.uniform(-1, 1, len(spec))), len(sig))
        return 0.9 * z / (np.abs(z).max() + 1e-9) * np.abs(sig).max()

    for i in range(4):
        seg = y[i * 4000: i * 4000 + 20000] * rng.uniform(0.5, 1.0)
        split = "train" if i < 3 else "val"
        add(f"bona{i}", seg, label="bonafide", split=split, source="s", speaker=f"p{i}", group=f"g{i}-0")
        add(f"voc{i}", fake(seg), label="spoof", split=split, system="voc", family="dsp-vocoder",
            source="s", speaker=f"p{i}", group=f"g{i}-0")
        for repo in ("demo/a", "demo/b"):
            tag = repo[-1]
            add(f"{tag}bona{i}", seg[::-1].copy(), label="bonafide", split="demo", source=f"demo:{repo}",
                group=f"{tag}{i}-00", extra={"repo": repo})
            add(f"{tag}spoof{i}", fake(seg[::-1].copy()), label="spoof", split="demo", source=f"demo:{repo}",
                system=f"{repo}|sys", family="vocoder" if tag == "a" else "tts", group=f"{tag}s{i}-00",
                extra={"repo": repo})
    write_manifest(Manifest(rows, root), root / "manifest.tsv")
    return root


@pytest.fixture(scope="module")
def tiny_embeddings(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("emb")
    embeddings.extract(tiny_corpus / "manifest.tsv", out, model="tiny.en", jobs=1, part_size=16, log=lambda s: None)
    return out


def test_embeddings_are_the_pooled_layers_scoring_uses(tiny_embeddings, tiny_corpus) -> None:
    from voiceguard.detect.backends.whisper import WhisperBackend

    table = embeddings.load(tiny_embeddings)
    assert table.pooled.shape[1:] == (5, 768) and table.meta["windows"] == len(table.clip)
    # 1.5 s clips: one window each, equal to what the scoring backend pools
    back = WhisperBackend({"model": "tiny.en", "layers": [0, 2, 4]}, head=None)
    y = sf.read(tiny_corpus / "bona0.flac")[0]
    want = back.pooled(y, [(0, len(y))])[0]
    got = table.pooled[0][[0, 2, 4]].astype(np.float32).reshape(-1)
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)  # float16 storage
    # resumable: a rerun computes nothing and gives the same table
    before = np.asarray(table.pooled).copy()
    embeddings.extract(tiny_corpus / "manifest.tsv", tiny_embeddings, model="tiny.en", jobs=1, part_size=16,
                       log=lambda s: None)
    np.testing.assert_array_equal(np.load(tiny_embeddings / "pooled.npy"), before)


def test_folds_hold_out_whole_repositories_and_families(tiny_embeddings) -> None:
    info = clip_info(embeddings.load(tiny_embeddings).clips)
    by_repo = folds(info, "repo")
    assert [f[0] for f in by_repo] == ["demo/a", "demo/b"]
    for name, train, test in by_repo:
        assert not np.any(train & (info.repo == name))  # neither class of the repo is trained on
        assert np.all(test[(info.repo == name)])
        assert not np.any(train & test)
        assert np.all(test[np.isin(info.split, ["val"]) & (info.label == 1)])
    by_family = folds(info, "family")
    assert [f[0] for f in by_family] == ["tts", "vocoder"]
    for fam, train, test in by_family:
        held = (info.family == fam) & (info.label == 0)
        assert not np.any(train & held) and np.all(test[held])
        assert not np.any(train & test)
        assert np.any(test & (info.split == "demo") & (info.label == 1))  # demo bona fide on the test side


def test_head_evaluates_exports_and_scores_like_the_detector(tiny_embeddings, tiny_corpus, tmp_path) -> None:
    from voiceguard.detect.detector import Detector

    cfg = HeadConfig(layers=(2, 4), hidden=16, epochs=30, lr=3e-3)
    res = run_evaluation(tiny_embeddings, cfg, "repo", log=lambda s: None)
    info = clip_info(embeddings.load(tiny_embeddings).clips)
    summary = summarise_folds(res, info)
    assert set(summary["per_fold"]) == {"demo/a", "demo/b"} and 0.0 <= summary["pooled"]["all"] <= 1.0
    path = export_model(tiny_embeddings, res, tmp_path, name="tiny-head", log=lambda s: None)
    cfgj = json.loads(path.read_text())
    assert cfgj["frontend"] == {"kind": "whisper", "model": "tiny.en", "layers": [2, 4]}
    assert "/" not in json.dumps(cfgj["training"]["embeddings"]).replace("demo/", "")
    det = Detector(path)
    assert det.version.startswith("tiny-head@") and det.grid.windows_per_chunk == 4
    r = det.score(tiny_corpus / "voc0.flac")
    assert r.verdict in ("spoof", "bonafide") and len(r.segments) == 1
    # the detector's window score is the exported head on the cached embedding
    table = embeddings.load(tiny_embeddings)
    i = [k for k, row in enumerate(table.clips) if row.path.endswith("voc0.flac")][0]
    import torch

    from voiceguard.detect.nets import PooledHead

    head = PooledHead(**cfgj["head"])
    head.load_state_dict(torch.load(tmp_path / "tiny-head.pt", weights_only=True))
    head.eval()
    x = torch.from_numpy(table.pooled[table.clip == i][:, [2, 4]].astype(np.float32).reshape(1, -1))
    with torch.inference_mode():
        raw = float(head(x))
    assert r.llr == pytest.approx(det.calibration.llr(raw), abs=0.05)
    # the exported threshold flags the configured share of the out-of-fold bona fide trials
    assert 0.0 < cfgj["threshold"] < 1.0 and "5%" in cfgj["threshold_meaning"]
    # the export pins its weights (checked at load: a changed file is refused)
    import hashlib

    assert cfgj["weights_sha256"] == {"tiny-head.pt": hashlib.sha256((tmp_path / "tiny-head.pt").read_bytes()).hexdigest()}


def test_fusion_config_scores_the_weighted_member_llrs(tiny_embeddings, tiny_corpus, tmp_path) -> None:
    """A fusion model (exported by ``export_fusion`` from two members' fold results) scores
    a recording as its bias plus the weighted calibrated window LLRs of its members."""
    import shutil
    from importlib import resources

    from voiceguard.detect.detector import Detector
    from voiceguard.training.detector_folds import export_fusion

    cfg = HeadConfig(layers=(2,), hidden=0, epochs=10)
    res = run_evaluation(tiny_embeddings, cfg, "repo", log=lambda s: None)
    export_model(tiny_embeddings, res, tmp_path, name="head", log=lambda s: None)
    # the second member: the shipped LFCC-ResNet, copied beside the head
    shipped = resources.files("voiceguard.models")
    fast_cfg = json.loads((shipped / "fast.json").read_text(encoding="utf-8"))
    (tmp_path / "fast.json").write_text(json.dumps(fast_cfg))
    with resources.as_file(shipped / fast_cfg["weights"]) as weights:
        shutil.copyfile(weights, tmp_path / fast_cfg["weights"])
    info = clip_info(embeddings.load(tiny_embeddings).clips)
    # fold results of the two members on the same trials: the head's, and an uninformative copy
    rng = np.random.default_rng(1)
    noise = {n: {"clips": f["clips"], "scores": rng.normal(size=len(f["clips"])).tolist()}
             for n, f in res["folds"].items()}
    path = export_fusion([("head.json", res, None), ("fast.json", {"folds": noise}, None)], info, tmp_path,
                         name="fused")
    fused = json.loads(path.read_text())
    w, b = fused["fusion"]["weights"], fused["fusion"]["bias"]
    assert fused["kind"] == "fusion" and len(w) == 2 and abs(w[0]) > abs(w[1])
    det, head, fast = Detector(path), Detector(tmp_path / "head.json"), Detector(tmp_path / "fast.json")
    r = det.score(tiny_corpus / "bona0.flac")
    rh, rf = head.score(tiny_corpus / "bona0.flac"), fast.score(tiny_corpus / "bona0.flac")
    assert len(r.segments) == len(rh.segments) == len(rf.segments)
    for s, sh, sf_ in zip(r.segments, rh.segments, rf.segments):
        assert s.llr == pytest.approx(b + w[0] * sh.llr + w[1] * sf_.llr, abs=1e-6)
