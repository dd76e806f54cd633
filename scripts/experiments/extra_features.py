"""Issue 24 experiment: a held-out evaluation of pooled encoder layers plus extra per-window features.

python scripts/experiments/extra_features.py NAME LAYERS EXTRA SCHEME [HIDDEN]
python scripts/experiments/extra_features.py ltas-only-system "" ltas system
python scripts/experiments/extra_features.py pb-L1+2+ltas-system 1,2 ltas system
"""

import sys

import numpy as np
import torch

from voiceguard.training.embeddings import load
from voiceguard.training.heldout import HeadConfig, clip_info, evaluate_folds, summarise_folds, to_json
from voiceguard.training.whisper_head import _used_windows

torch.set_num_threads(1)
name, layers, extra, scheme = sys.argv[1], [int(x) for x in sys.argv[2].split(",") if x], sys.argv[3], sys.argv[4]
t = load("runs/frames-base")
info = clip_info(t.clips)
keep = _used_windows(t)
parts = []
if layers:
    parts.append(t.features(layers)[keep])
if extra != "-":
    for e in extra.split(","):
        parts.append(np.asarray(np.load(f"runs/frames-base/{e}.npy", mmap_mode="r")[keep], np.float32))
X = np.concatenate(parts, 1)
cfg = HeadConfig(layers=tuple(layers), hidden=int(sys.argv[5]) if len(sys.argv) > 5 else 256, dropout=0.3, epochs=12)
res = evaluate_folds(X, t.clip[keep], t.speech_fraction[keep], info, cfg, scheme, n_layer_inputs=1)
res["summary"] = summarise_folds(res, info)
res["extra"] = extra
open(f"runs/heads/{name}.json", "w").write(to_json(res))
print(name, {k: round(v, 4) for k, v in res["summary"]["pooled"].items()}, res["summary"]["worst"], flush=True)
