"""Issue 24 experiment: long-term log spectrum of every window of a frame cache (257 bins of a 512-point
spectrogram, 10 ms hop: the mean over the window with its average over bins removed, and the standard deviation),
written to FOLDER/ltas.npy for scripts/experiments/extra_features.py.

    python scripts/experiments/ltas.py runs/frames-base
"""

import multiprocessing as mp
import sys

import numpy as np

from voiceguard.audio import load_mono
from voiceguard.data import read_manifest
from voiceguard.errors import VoiceguardError
from voiceguard.features import linear_spectrogram


def work(args):
    paths, wins = args
    out = {}
    for ci, path in paths:
        try:
            y, _ = load_mono(path, sr=16000)
        except VoiceguardError:  # unreadable clip: its windows stay zero
            continue
        if len(y) < 512:
            y = np.pad(y, (0, 512 - len(y)))
        S = linear_spectrogram(y, 16000)  # [257, T] 10 ms hop
        L = np.log10(S + 1e-10)
        for wi, f0, f1 in wins.get(ci, []):
            a, b = f0 * 2, max(f0 * 2 + 1, min(L.shape[1], f1 * 2))
            x = L[:, a:b]
            m = x.mean(1)
            s = x.std(1)
            out[wi] = np.concatenate([m - m.mean(), s]).astype(np.float16)
    return out


if __name__ == "__main__":
    folder = sys.argv[1]
    m = read_manifest(f"{folder}/clips.tsv")
    idx = np.loadtxt(f"{folder}/index.tsv", delimiter="\t", skiprows=1, ndmin=2)
    wins = {}
    for wi, (c, _k, a, b, _fr) in enumerate(idx):
        wins.setdefault(int(c), []).append((wi, int(a), int(b)))
    paths = [(ci, str(m.resolve(r))) for ci, r in enumerate(m)]
    tasks = [
        (paths[i : i + 200], {c: wins.get(c, []) for c, _ in paths[i : i + 200]}) for i in range(0, len(paths), 200)
    ]
    res = np.zeros((len(idx), 514), np.float16)
    with mp.get_context("spawn").Pool(2) as pool:
        for n, o in enumerate(pool.imap_unordered(work, tasks)):
            for wi, v in o.items():
                res[wi] = v
            if n % 20 == 0:
                print(n, len(tasks), flush=True)
    np.save(f"{folder}/ltas.npy", res)
