"""Drive every reference row of a bundle through a kept RTL design (Verilator), bit for bit."""

import json
import sys
from pathlib import Path

import numpy as np

from trigkit.bundle.manifest import load_bundle
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.firmware.fpga_report import load_network
from trigkit.firmware.rtl import generate as rtl
from trigkit.firmware.rtl.design import RtlDesign

bundle, design_dir = sys.argv[1], Path(sys.argv[2])
net = load_network(load_bundle(bundle))
d = json.loads((design_dir / "rtl_report.json").read_text())["design"]
d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
design = RtlDesign(**d)
ref = np.load(Path(bundle) / "reference.npz")
x = ref[[k for k in ref.files if k.startswith("in_")][0]]
emu = FirmwareEmulator(net)
codes = emu.quantize_inputs(x)
expected = emu.run_codes(codes, upto=len(design.covered))
exe = Path(design.path) / "tb" / "obj_dir" / "Vtb"
if not exe.is_file():
    exe = rtl.build_simulator(design)
sim = rtl.simulate(design, exe, codes, expected, net.clock_period_ns)
print(
    f"{design.path}: {sim.n_samples} reference rows, {sim.mismatches} mismatches, "
    f"latency {sim.latency_cycles} cycles, II {sim.ii}"
)
