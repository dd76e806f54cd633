"""Write a block-geometry detector config that reads the shipped default head's weights.

    python benchmarks/block_test_model.py OUT_DIR     # writes OUT_DIR/detector.json + weights

TEST AND BENCHMARK ONLY: the shipped head (trained on 10 s chunks) read in the block
geometry (2 s blocks encoded alone, windows of 2 blocks, ``frontend.block_s``); its scores
differ from the shipped model's and are not validated. It stands in for the block-geometry
model of issue 24 until that ships, e.g.
``python benchmarks/load_service.py --model OUT_DIR/detector.json``.
"""

from __future__ import annotations

import json
import shutil
import sys
from importlib import resources
from pathlib import Path


def write(folder: Path) -> Path:
    models = resources.files("voiceguard.models")
    cfg = json.loads((models / "detector.json").read_text(encoding="utf-8"))
    cfg["name"] = "whisper-base-blocks-test"
    cfg["frontend"] = {**cfg["frontend"], "block_s": 2.0}
    cfg["head"] = {"kind": "pooled", **cfg["head"]}
    cfg["scoring"] = {k: v for k, v in cfg["scoring"].items() if k != "chunk_s"} | {"blocks_per_window": 2}
    cfg.pop("training", None)
    cfg["note"] = ("test/benchmark only: the shipped head's weights read in the block geometry; scores differ "
                   "from the shipped model's and are not validated")
    folder.mkdir(parents=True, exist_ok=True)
    with resources.as_file(models / cfg["weights"]) as w:
        shutil.copy(w, folder / cfg["weights"])
    (folder / "detector.json").write_text(json.dumps(cfg, indent=1) + "\n", encoding="utf-8")
    return folder / "detector.json"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(write(Path(sys.argv[1])))
