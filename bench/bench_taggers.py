"""Taggers issue goals: the track b-tagger >= 2x the IP3D-like baseline's light-jet rejection at
70 % b-efficiency, and the Xbb tagger >= 2x the mass+tau21 baseline's QCD rejection at 50 %.

`python bench/bench_taggers.py --out bench/results/taggers.json [--events N --test-events M
--epochs E]` trains btag-deepsets and xbb-pfn on generated HH->4b + QCD events
(`trigkit.models.training.train`, the function behind `trigkit train`) and evaluates tagger and
baselines on the same, independently generated test jets (`trigkit.models.evaluation.evaluate`,
behind `trigkit evaluate`). A rejection printed as a lower bound means no background test jet
passed the cut.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

GOALS = {"btag-deepsets": ("0.7", 2.0), "xbb-pfn": ("0.5", 2.0)}


def _ratio(model: dict, base: dict, eff: str) -> tuple[float, bool]:
    """Rejection ratio at ``eff``; ``bound`` when the model's rejection is only a lower bound."""
    m, b = model["rejection"][eff], base["rejection"][eff]
    if m == float("inf"):
        return model["n_background"] / b, True
    return m / b, False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("bench/results/taggers.json"))
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--test-events", type=int, default=20_000)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=2e-3)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from trigkit.events.generator import generate
    from trigkit.models.evaluation import evaluate
    from trigkit.models.training import train

    t0 = time.time()
    training = [generate("hh4b", args.events, seed=1), generate("qcd", args.events, seed=2)]
    test = [
        generate("hh4b", args.test_events, seed=101),
        generate("qcd", args.test_events, seed=102),
    ]
    rows = []
    for name, (eff, goal) in GOALS.items():
        model = train(
            name,
            training,
            seed=0,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            progress=False,
        )
        from trigkit.models.feature_set import FeatureSet

        fs = FeatureSet.concatenate([model.features(b) for b in test])
        ev = evaluate(model, fs).as_dict()
        base = ev["baselines"][0]
        ratio, bound = _ratio(ev["model"], base, eff)
        rows.append(
            {
                "model": name,
                "baseline": base["name"],
                "signal_eff": float(eff),
                "goal_ratio": goal,
                "ratio": ratio,
                "ratio_is_lower_bound": bound,
                "met": ratio >= goal,
                "evaluation": ev,
            }
        )
        print(
            f"{name}: rejection ratio vs {base['name']} at eff {eff}: "
            f"{'>' if bound else ''}{ratio:.2f} (goal >= {goal}); AUC "
            f"{ev['model']['auc']:.4f} vs {base['auc']:.4f}"
        )
    out = {
        "command": " ".join(["python", *sys.argv]),
        "seconds": time.time() - t0,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=float))
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
