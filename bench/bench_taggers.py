"""Tagger benchmark on Pythia samples: b-tagger, Xbb tagger and L1 tagger vs their baselines,
and what pruning + quantization-aware training of the L1 tagger costs.

`python bench/bench_taggers.py --out bench/results/taggers.json [--engine pythia|fast
--events N --test-events M --epochs E]` trains btag-deepsets, xbb-pfn and l1-mlp on hh4b + qcd
+ ttbar events (`trigkit.models.training.train`, behind `trigkit train`) and evaluates them
and their baselines on independently generated test events. Pythia (the default) is
`trigkit.events.pythia` with <mu> = 60 pileup; its samples are cached by config, so a rerun
skips generation. `--engine fast` uses the numba toy generator (toy generator, numbers not
physical): the JSON and the printout say so.

Every rejection carries a 68 % Clopper-Pearson interval and is quoted only where >= 100
background jets pass (otherwise a lower bound); the Xbb background (QCD and top large-R jets)
is pT-reweighted to the H->bb signal. With Pythia the Xbb tagger also trains and is tested on
the large-R jets of QCD pT-hat > 250 GeV slices and of resonant X -> HH (m_X = 1 TeV) events
(`trigkit.benchmarks.tagger_eval.sample_roles`).
Training uses unweighted jets with balanced classes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# model -> (signal efficiency of the headline rejection, goal ratio over its first baseline)
GOALS = {"btag-deepsets": ("0.7", 2.0), "xbb-pfn": ("0.5", 2.0), "l1-mlp": ("0.7", None)}
EFFS = (0.5, 0.7, 0.8)


def _ratio(ev: dict, eff: str) -> tuple[float, bool]:
    """Model rejection over its first baseline's at ``eff``; ``bound`` if either is a bound."""
    model, base = ev["rows"][0]["rejection"][eff], ev["rows"][1]["rejection"][eff]
    return model["value"] / base["value"], model["is_lower_bound"] or base["is_lower_bound"]


def _compress_l1(model, train_batches, test_fs, seed: int) -> dict:  # noqa: ANN001
    """Prune 75 % + 8-bit QAT (the demo's settings) on the training jets; the compressed
    model's AUC and rejections on the test jets next to the float model's."""
    from trigkit.benchmarks.tagger_eval import evaluate_tagger
    from trigkit.compile.compress import CompressConfig, QATOptions, compress
    from trigkit.compile.prune import PruningSchedule
    from trigkit.models.training import features_of, split

    fs = features_of(model.name, list(train_batches), None, None, seed)
    tr, va = split(fs, 0.2, seed)
    conf = CompressConfig(
        prune=PruningSchedule(target_sparsity=0.75, steps=3, finetune_epochs=1),
        qat=QATOptions(bits=8, epochs=3),
        seed=seed,
    )
    res = compress(model, tr, va, conf)
    stages = [
        {"stage": s.stage, "auc_validation": s.auc, "nonzero_params": s.nonzero_params}
        for s in res.stages
    ]
    test = evaluate_tagger(res.model, test_fs, EFFS)["rows"][0]
    return {
        "settings": "prune 75 % (3 steps) + 8-bit QAT, 3 epochs",
        "stages": stages,
        "test": test,
    }


def _evaluate(model, batches, eff: str) -> tuple[object, dict, float, bool]:  # noqa: ANN001
    """The test jets of ``batches``, ``model``'s evaluation on them and its headline ratio."""
    from trigkit.benchmarks.tagger_eval import evaluate_tagger
    from trigkit.models.feature_set import FeatureSet

    fs = FeatureSet.concatenate([model.features(b) for b in batches])
    ev = evaluate_tagger(model, fs, EFFS)
    return fs, ev, *_ratio(ev, eff)


def _hh4b_only(model, samples, eff: str) -> dict:  # noqa: ANN001
    """The Xbb evaluation with hh4b's H->bb jets as the only signal (no X -> HH)."""
    _, ev, ratio, bound = _evaluate(model, samples.xbb_hh4b_test(), eff)
    print(f"xbb-pfn, hh4b signal only: ratio {'~' if bound else ''}{ratio:.2f}", flush=True)
    return {"ratio": ratio, "ratio_involves_bound": bound, "evaluation": ev}


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("bench/results/taggers.json"))
    ap.add_argument("--engine", choices=("pythia", "fast"), default="pythia")
    ap.add_argument("--events", type=int, default=2000, help="training events per process")
    ap.add_argument("--test-events", type=int, default=1500, help="test events per process")
    ap.add_argument("--workers", type=int, default=2, help="pythia: generator processes")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--allow-older", action="store_true", help="replace a newer result")
    return ap.parse_args()


def main() -> int:
    args = _args()
    import torch

    torch.set_num_threads(1)
    from trigkit.benchmarks.provenance import provenance, write_result
    from trigkit.benchmarks.tagger_eval import make_samples
    from trigkit.models.registry import get_spec
    from trigkit.models.rejection import Rejection
    from trigkit.models.training import train

    prov = provenance({"torch": 1, "generator_workers": args.workers})  # the code that runs
    t0 = time.time()
    samples = make_samples(args.engine, args.events, args.test_events, args.workers)
    t_gen = time.time() - t0
    rows = []
    for name, (eff, goal) in GOALS.items():
        model = train(
            name,
            list(samples.train_for(get_spec(name).kind)),
            seed=0,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            progress=True,
        )
        fs, ev, ratio, bound = _evaluate(model, samples.test_for(model.kind), eff)
        row = {
            "model": name,
            "baseline": ev["rows"][1]["name"],
            "signal_eff": float(eff),
            "goal_ratio": goal,
            "ratio": ratio,
            "ratio_involves_bound": bound,
            "met": None if goal is None else bool(ratio >= goal and not bound),
            "evaluation": ev,
        }
        if name == "xbb-pfn" and samples.has_xbb_slices:
            row["hh4b_signal_only"] = _hh4b_only(model, samples, eff)
        if name == "l1-mlp":
            row["compression"] = _compress_l1(model, samples.train, fs, 0)
        rows.append(row)
        rej = Rejection(**ev["rows"][0]["rejection"][eff])
        print(
            f"{name}: rejection at {eff}: {rej.text()}; ratio vs {row['baseline']}: "
            f"{'~' if bound else ''}{ratio:.2f}; AUC "
            f"{ev['rows'][0]['auc']:.4f} vs {ev['rows'][1]['auc']:.4f}",
            flush=True,
        )
    rec = {
        "benchmark": "taggers",
        "events": samples.describe(),
        "seconds": time.time() - t0,
        "generation_seconds": t_gen,
        "epochs": args.epochs,
        "training": "unweighted jets, classes balanced; Xbb evaluation background "
        "pT-reweighted to the signal",
        "provenance": prov,
        "torch": torch.__version__,
        "results": rows,
    }
    write_result(args.out, rec, args.allow_older)
    print(f"wrote {args.out} ({samples.label}); {rec['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
