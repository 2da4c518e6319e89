"""Numbers of the importers issue (#15) for the hls4ml jet-tagging shape, a 16-64-32-32-5 MLP.

`python bench/bench_importers.py [--rows 10000] [--out bench/results/importers_mlp.json]`:

1. trains the MLP in torch for a few seconds on 5 Gaussian classes in 16 dimensions (so that
   accuracy means something) and exports it to ONNX;
2. times `trigkit compile model.onnx --target fpga` (hls4ml project + C-sim + bit-exact check of
   the reference rows) and `--target gpu`, end to end, each in its own `trigkit` process: wall
   seconds and CPU seconds (the process + its children, g++ included), since a shared box
   inflates wall. numba's kernel cache goes to a fresh directory, so the first fpga compile
   is the one right after an install (numba compiles every kernel it runs: "cold"); the fpga
   compile is then timed again with that cache filled ("warm", what every later compile costs);
3. runs ``--rows`` held-out labelled rows through the bundle's numba emulation and the hls4ml C
   simulation built by the compile (``--keep-csim``): mismatches, bit for bit;
4. accuracy of the float model (onnxruntime on the original file) vs the firmware.

Writes JSON with the machine and versions and prints one table.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

N_CLASSES, N_FEATURES = 5, 16


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).normal(scale=1.2, size=(N_CLASSES, N_FEATURES))
    y = rng.integers(0, N_CLASSES, n)
    return centers[y] + rng.normal(size=(n, N_FEATURES)), y


def train_mlp(x: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Linear(16, 64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Linear(32, 32),
        nn.ReLU(),
        nn.Linear(32, 5),
    )
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(m(xt), yt).backward()
        opt.step()
    return nn.Sequential(*m, nn.Softmax(dim=-1)).eval()


def timed_compile(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of ``trigkit compile *args`` in a process of its own (``env`` added)."""
    code = "from trigkit.cli.app import main; raise SystemExit(main())"
    c0 = _children_cpu()
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "compile", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if done.returncode != 0:
        raise SystemExit(f"trigkit compile {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return round(wall, 2), round(cpu, 2)


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=Path("bench/results/importers_mlp.json"))
    ap.add_argument("--allow-older", action="store_true", help="replace a newer code's result")
    args = ap.parse_args()
    import onnxruntime as ort
    import torch
    from rich.console import Console
    from rich.table import Table

    import trigkit
    from trigkit.benchmarks.provenance import check_overwrite, provenance, write_result
    from trigkit.bundle.manifest import load_bundle
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.firmware.hls4ml import CsimLibrary
    from trigkit.fixedpoint.network import FirmwareNetwork

    check_overwrite(args.out, args.allow_older)  # before minutes of work, not after
    torch.set_num_threads(1)
    x_train, y_train = make_data(20_000, 1)
    x_calib, y_calib = make_data(5_000, 2)
    x_test, y_test = make_data(args.rows, 3)
    module = train_mlp(x_train, y_train)
    res: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        onnx_path = d / "mlp.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (torch.zeros(2, 16),),
                str(onnx_path),
                dynamo=False,
                input_names=["x"],
                dynamic_axes={"x": {0: "batch"}},
            )
        calib = d / "calib.npz"
        np.savez(calib, in_x=x_calib, labels=y_calib)
        compile_args = [str(onnx_path), "--calib-data", str(calib)]
        cache = {"NUMBA_CACHE_DIR": str(d / "numba-cache")}  # empty: the first run is cold
        runs = (("fpga_bundle_cold", "fpga-cold"), ("fpga_bundle", "fpga"), ("gpu_bundle", "gpu"))
        for key, out in runs:
            target = out.split("-")[0]
            extra = ["--keep-csim", str(d / "csim")] if out == "fpga" else []
            opts = ["--target", target, "--out", str(d / out), *extra]
            res[f"{key}_seconds"], res[f"{key}_cpu_seconds"] = timed_compile(
                [*compile_args, *opts], cache
            )
        bundle = load_bundle(d / "fpga", target="fpga")
        net = FirmwareNetwork.from_json(bundle.manifest.target_info["network"])
        y_emu = FirmwareEmulator(net).predict(x_test)
        y_csim = CsimLibrary(d / "csim", net.n_inputs, net.n_outputs, net.project_name).predict(
            x_test
        )
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        y_float = sess.run(None, {"x": x_test.astype(np.float32)})[0]
    res |= {
        "rows": args.rows,
        "emulation_vs_csim_mismatches": int(np.count_nonzero(np.any(y_emu != y_csim, axis=1))),
        "float_accuracy": float(np.mean(y_float.argmax(1) == y_test)),
        "firmware_accuracy": float(np.mean(y_csim.argmax(1) == y_test)),
        "top_class_agreement": float(np.mean(y_float.argmax(1) == y_csim.argmax(1))),
        "max_abs_prob_diff": float(np.max(np.abs(y_float - y_csim))),
        "precision": bundle.manifest.precision,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "trigkit": trigkit.__version__,
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
        },
    }
    loss = float(res["float_accuracy"]) - float(res["firmware_accuracy"])  # type: ignore[arg-type]
    res["accuracy_loss"] = loss
    res["provenance"] = provenance({"torch": 1})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, res, args.allow_older)
    table = Table("quantity", "value", title="16-64-32-32-5 MLP from ONNX")
    for k, v in res.items():
        if k not in ("machine", "provenance"):
            table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    Console().print(table)
    return 0 if res["emulation_vs_csim_mismatches"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
