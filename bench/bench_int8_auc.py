"""INT8 goal of the taggers issue: INT8 b-tagger AUC within 0.5 % of float, per calibration.

`python bench/bench_int8_auc.py --out bench/results/int8_auc.json [--engine pythia|fast
--events N --test-events M --epochs E]`: trains btag-deepsets (the DIPS-like tagger) on the
tagger benchmark's training samples (hh4b + qcd + ttbar; Pythia with <mu> = 60 by default,
cached by config, so after `bench_taggers.py` no event is generated again), compiles gpu
bundles at fp32 / fp16 / int8 (max, percentile, entropy) with
`trigkit.compile.targets.gpu.compile_gpu`, calibrating on the training hh4b events, and reports
the AUC of D_b (b vs light+c) for each precision on the independent test events, computed here
from the bundle's onnxruntime outputs. `--engine fast`: the numba toy generator (toy
generator, numbers not physical), labelled as such in the JSON.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("bench/results/int8_auc.json"))
    ap.add_argument("--engine", choices=("pythia", "fast"), default="pythia")
    ap.add_argument("--events", type=int, default=2000, help="training events per process")
    ap.add_argument("--test-events", type=int, default=1500, help="test events per process")
    ap.add_argument("--workers", type=int, default=2, help="pythia: generator processes")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--allow-older", action="store_true", help="replace a newer result")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from trigkit.benchmarks.provenance import provenance, write_result
    from trigkit.benchmarks.tagger_eval import make_samples
    from trigkit.compile.int8 import auc, discriminant
    from trigkit.compile.targets.gpu import compile_gpu, read_target_info
    from trigkit.events.parquet_io import write_parquet
    from trigkit.models.feature_set import FeatureSet
    from trigkit.models.training import train
    from trigkit.runtime import load_runner

    prov = provenance({"torch": 1, "generator_workers": args.workers})  # the code that runs
    t0 = time.time()
    samples = make_samples(args.engine, args.events, args.test_events, args.workers, xbb=False)
    model = train("btag-deepsets", list(samples.train), epochs=args.epochs, seed=0, progress=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        calib = tmp / "calib.parquet"
        write_parquet([samples.train[0]], calib)  # the training hh4b events
        fs = FeatureSet.concatenate([model.features(b) for b in samples.test])
        feed = dict(zip(model.input_names, model.model_inputs(fs), strict=True))
        keep = np.isin(fs.labels, (0, 1, 2))
        is_b = fs.labels[keep] == 0
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
                    "test_jets": int(keep.sum()),
                    "auc_test": auc(discriminant(probs)[keep], is_b),
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
        "events": samples.describe(),
        "epochs": args.epochs,
        "goal": "INT8 AUC within 0.5 % of float",
        "rows": rows,
        "seconds": time.time() - t0,
        "provenance": prov,
    }
    write_result(args.out, rec, args.allow_older)
    print(f"wrote {args.out} ({samples.label})")
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
