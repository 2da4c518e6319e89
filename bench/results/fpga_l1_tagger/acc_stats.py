"""Accuracy rows with 68 % Clopper-Pearson intervals, and the paired firmware - float difference."""

import sys

import numpy as np
from scipy.stats import beta

from trigkit.bundle.manifest import load_bundle
from trigkit.firmware.fpga_report import float_outputs_from_model, load_network
from trigkit.firmware.report_accuracy import ordinary_rows


def cp68(k: int, n: int) -> tuple[float, float]:
    lo = beta.ppf(0.16, k, n - k + 1) if k > 0 else 0.0
    hi = beta.ppf(0.84, k + 1, n - k) if k < n else 1.0
    return lo, hi


bundle_path, model_path = sys.argv[1], sys.argv[2]
b = load_bundle(bundle_path)
net = load_network(b)
z = np.load(f"{bundle_path}/reference.npz")
x, fw, fq, y = z["in_jets"], z["out_scores"], z["float_scores"], z["labels"]
fo = float_outputs_from_model(model_path, x, net)
keep = ordinary_rows(x, net) & (y >= 0) & np.all(np.isfinite(fq), axis=1)
print(f"labelled rows {int((y >= 0).sum())}, kept (ordinary, labelled) {int(keep.sum())}")
n = int(keep.sum())
ok = {
    k: (a[keep].argmax(1) == y[keep])
    for k, a in (("firmware", fw), ("float (QAT weights)", fq), ("float (original l1.pt)", fo))
}
for k, v in ok.items():
    s = int(v.sum())
    lo, hi = cp68(s, n)
    print(f"{k}: {s}/{n} = {100 * s / n:.2f} % [68 % CP {100 * lo:.2f}, {100 * hi:.2f}]")
for ref in ("float (QAT weights)", "float (original l1.pt)"):
    d = ok["firmware"].astype(float) - ok[ref].astype(float)
    se = d.std(ddof=1) / np.sqrt(n)
    print(
        f"firmware - {ref}: {100 * d.mean():+.2f} +- {100 * se:.2f} points (paired, 1 sigma); "
        f"discordant {int((d > 0).sum())} / {int((d < 0).sum())}"
    )
