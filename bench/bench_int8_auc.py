"""INT8 goal of the taggers issue: INT8 b-tagger AUC within 0.5 % of float, per calibration.

`python bench/bench_int8_auc.py --out bench/results/int8_auc.json [--events N --epochs E]`:
generates HH->4b and QCD events (training and an independent calibration/test sample), trains
btag-deepsets (the DIPS-like tagger), compiles gpu bundles at fp32 / fp16 / int8 (max,
percentile, entropy) with `trigkit.compile.targets.gpu.compile_gpu`, and reports the AUC of
D_b (b vs light+c) for each precision on the test events, computed here from the bundle's
onnxruntime outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("bench/results/int8_auc.json"))
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from trigkit.compile.int8 import auc, discriminant
    from trigkit.compile.targets.gpu import compile_gpu, read_target_info
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet
    from trigkit.models.training import train
    from trigkit.runtime import load_runner

    t0 = time.time()
    train_ev = [generate("hh4b", args.events, seed=1), generate("qcd", args.events, seed=2)]
    model = train("btag-deepsets", train_ev, epochs=args.epochs, seed=0, progress=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        calib = tmp / "calib.parquet"
        write_parquet([generate("hh4b", args.events // 2, seed=11)], calib)
        test_ev = generate("hh4b", args.events, seed=21)
        fs = model.features(test_ev)
        feed = dict(zip(model.input_names, model.model_inputs(fs), strict=True))
        is_b = fs.labels == 0
        path = model.save(tmp / "btag.pt")
        for prec, cal in [
            ("fp32", None),
            ("fp16", None),
            ("int8", "max"),
            ("int8", "percentile"),
            ("int8", "entropy"),
        ]:
            kw = {"calib_events": calib, "calibration": cal} if cal else {}
            try:
                b = compile_gpu(path, tmp / f"b_{prec}_{cal}", precision=prec, engine="never", **kw)
            except Exception as exc:  # noqa: BLE001 - record the refusal (e.g. AUC outside tolerance)
                rows.append({"precision": prec, "calibration": cal, "error": str(exc)})
                continue
            with load_runner(b.path, backend="onnxruntime") as r:
                probs = r.infer(feed)
            info = read_target_info(b)
            rows.append(
                {
                    "precision": prec,
                    "calibration": cal,
                    "test_jets": int(len(is_b)),
                    "auc_test": auc(discriminant(probs), is_b),
                    "compile_check": info.int8.model_dump() if info.int8 else None,
                }
            )
    ref = next(r["auc_test"] for r in rows if r["precision"] == "fp32")
    for r in rows:
        if "auc_test" in r:
            r["auc_relative_change_vs_fp32"] = (r["auc_test"] - ref) / ref
    rec = {
        "benchmark": "int8_auc",
        "model": "btag-deepsets",
        "events_per_sample": args.events,
        "epochs": args.epochs,
        "goal": "INT8 AUC within 0.5 % of float",
        "rows": rows,
        "seconds": time.time() - t0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rec, indent=2))
    for r in rows:
        print(
            r["precision"],
            r["calibration"],
            r.get("auc_test"),
            r.get("auc_relative_change_vs_fp32"),
            r.get("error", ""),
        )
    return 0 if np.isfinite(ref) else 1


if __name__ == "__main__":
    sys.exit(main())
