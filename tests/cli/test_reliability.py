"""Every command, fed bad input, fails with ONE clear line on stderr starting with ``error:``,
exit code 1, no traceback, and leaves no partial output behind.

Expensive inputs (events, a 1-epoch model, a GPU bundle) are built once per module; the
:class:`Argv` fixture builds the repeated command lines (train, compress, compile, emulate).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError

RANDOM = np.random.default_rng(7).bytes(4096)


def _listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _fails(
    capsys: pytest.CaptureFixture[str], argv: list[str], out_root: Path, match: str = ""
) -> str:
    """Run the CLI; assert exit 1, one ``error:`` line, no traceback, nothing new in out_root."""
    before = _listing(out_root)
    rc = main(argv)
    cap = capsys.readouterr()
    lines = [ln for ln in cap.err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert rc == 1, f"{argv}: exit {rc}; stderr: {cap.err[-2000:]}"
    assert "Traceback" not in cap.err + cap.out
    assert len(errors) == 1 and lines[-1] == errors[0], cap.err[-2000:]
    assert match.lower() in errors[0].lower(), errors[0]
    assert _listing(out_root) == before, f"partial output left: {_listing(out_root) - before}"
    return errors[0]


def _train_argv(model: str, events: list[Path], out: Path, *extra: str) -> list[str]:
    ev = [str(e) for e in events]
    return ["train", "-m", model, "-e", *ev, "--out", str(out), "--epochs", "1", *extra]


@dataclass(frozen=True)
class Argv:
    """Command lines on the module's inputs (``work``), writing under ``out``."""

    work: dict[str, Path]
    out: Path

    def train(self, model: str, *events: str, threads: bool = False) -> list[str]:
        extra = ("--threads", "1") if threads else ()
        return _train_argv(model, [self.work[e] for e in events], self.out / "m.pt", *extra)

    def compress(self, model: str, prune: str) -> list[str]:
        m, ev = str(self.work[model]), str(self.work["hh"])
        return ["compress", m, "-e", ev, "--prune", prune, "--out", str(self.out / "c.pt")]

    def compile(self, model: str, target: str, *extra: str) -> list[str]:
        m = str(self.work[model])
        return ["compile", m, "--target", target, *extra, "--out", str(self.out / "b")]

    def emulate(self, menu: str, signal: str = "hh", *extra: str) -> list[str]:
        sig, bkg = str(self.work[signal]), str(self.work["qcd"])
        out = ["--out", str(self.out / "e")]
        return ["emulate", "--menu", menu, *out, "--signal", sig, "--background", bkg, *extra]


@pytest.fixture
def argv(work: dict[str, Path], out: Path) -> Argv:
    return Argv(work, out)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Events, a 1-epoch model, a GPU bundle and corrupt files (built once)."""
    root = tmp_path_factory.mktemp("inputs")
    p = {
        k: root / v
        for k, v in {
            "hh": "hh.parquet",
            "qcd": "qcd.parquet",
            "model": "m.pt",
            "bundle": "bundle",
            "nan": "nan.parquet",
        }.items()
    }
    for proc in ("hh", "qcd"):
        name = "hh4b" if proc == "hh" else "qcd"
        argv = ["events", "generate", "--engine", "fast", "-p", name, "-n", "300"]
        assert main([*argv, "--out", str(p[proc])]) == 0
    assert (
        main(_train_argv("btag-deepsets", [p["hh"], p["qcd"]], p["model"], "--threads", "1")) == 0
    )
    assert main(["compile", str(p["model"]), "--target", "gpu", "--out", str(p["bundle"])]) == 0
    p["l1"] = root / "l1.pt"  # a per-jet MLP, the kind the FPGA target takes
    assert main(_train_argv("l1-mlp", [p["hh"], p["qcd"]], p["l1"], "--threads", "1")) == 0
    _write_nan_events(p["hh"], p["nan"])
    for ext in ("parquet", "root", "h5", "pt", "onnx", "yaml"):
        (root / f"corrupt.{ext}").write_bytes(RANDOM)
        p[f"corrupt_{ext}"] = root / f"corrupt.{ext}"
    p["missing"] = root / "does-not-exist.parquet"
    return p


def _write_nan_events(src: Path, dest: Path) -> None:
    """The generated events with NaN / +Inf jet pt, written with trigkit's own Parquet writer."""
    from trigkit.events.parquet_io import read_parquet, write_parquet

    b = read_parquet(src)
    bad = np.asarray(ak.flatten(b.jets.pt), dtype=np.float64).copy()
    bad[::3] = np.nan
    bad[1::7] = np.inf
    pt = ak.unflatten(bad.astype(np.float32), ak.num(b.jets.pt))
    write_parquet([replace(b, jets=ak.with_field(b.jets, pt, "pt"))], dest)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


# --- events ----------------------------------------------------------------------------------


def test_generate_unknown_process(capsys, out: Path) -> None:  # noqa: ANN001
    _fails(
        capsys,
        ["events", "generate", "-p", "hh4bb", "-n", "10", "--out", str(out / "x.parquet")],
        out,
        "hh4bb",
    )


def test_generate_bad_destination(capsys, out: Path) -> None:  # noqa: ANN001
    _fails(
        capsys, ["events", "generate", "-p", "hh4b", "-n", "10", "--out", str(out / "x.csv")], out
    )


@pytest.mark.parametrize("kind", ["missing", "corrupt_parquet", "corrupt_root", "corrupt_h5"])
@pytest.mark.parametrize("cmd", ["info", "read"])
def test_events_bad_input(capsys, out: Path, work: dict[str, Path], kind: str, cmd: str) -> None:  # noqa: ANN001
    argv = ["events", cmd, str(work[kind])] + (
        ["--out", str(out / "x.parquet")] if cmd == "read" else []
    )
    _fails(capsys, argv, out, work[kind].name)


def test_generate_failure_midway_leaves_nothing(
    capsys, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    import trigkit.events.generator as gen

    real = gen.iter_generate

    def first_chunk_then_fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        yield next(iter(real(*args, **kwargs)))
        raise TrigkitError("simulated failure after the first chunk")

    monkeypatch.setattr(gen, "iter_generate", first_chunk_then_fail)
    _fails(
        capsys,
        [
            "events",
            "generate",
            "--engine",
            "fast",
            "-p",
            "hh4b",
            "-n",
            "200",
            "--chunk-size",
            "100",
            "--out",
            str(out / "x.parquet"),
        ],
        out,
        "simulated failure",
    )


# --- models ----------------------------------------------------------------------------------


def test_train_unknown_model(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    msg = _fails(capsys, argv.train("btag-deepset", "hh", "qcd"), out, "btag-deepset")
    assert "btag-deepsets" in msg  # names the valid ones


@pytest.mark.parametrize("kind", ["missing", "corrupt_parquet", "corrupt_root"])
def test_train_bad_events(capsys, out: Path, argv: Argv, kind: str) -> None:  # noqa: ANN001
    _fails(capsys, argv.train("btag-deepsets", kind), out, argv.work[kind].name)


def _nan_argv(cmd: str, argv: Argv) -> list[str]:
    if cmd == "train":
        return argv.train("btag-deepsets", "nan", "qcd", threads=True)
    work, out = argv.work, argv.out
    return ["evaluate", str(work["model"]), "-e", str(work["nan"]), "--out-dir", str(out / "ev")]


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
@pytest.mark.parametrize("cmd", ["train", "evaluate"])
def test_nan_events_refused(capsys, out: Path, argv: Argv, cmd: str) -> None:  # noqa: ANN001
    _fails(capsys, _nan_argv(cmd, argv), out, "NaN/Inf")


def test_nan_events_no_warning_noise(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    _fails(capsys, _nan_argv("train", argv), out, "NaN/Inf")


@pytest.mark.parametrize("kind", ["missing", "corrupt_pt", "corrupt_onnx"])
def test_evaluate_bad_model(capsys, out: Path, work: dict[str, Path], kind: str) -> None:  # noqa: ANN001
    _fails(
        capsys,
        ["evaluate", str(work[kind]), "-e", str(work["hh"]), "--out-dir", str(out / "ev")],
        out,
        work[kind].name,
    )


def test_evaluate_corrupt_events(capsys, out: Path, work: dict[str, Path]) -> None:  # noqa: ANN001
    _fails(
        capsys,
        [
            "evaluate",
            str(work["model"]),
            "-e",
            str(work["corrupt_parquet"]),
            "--out-dir",
            str(out / "ev"),
        ],
        out,
        "corrupt.parquet",
    )


@pytest.mark.parametrize("kind", ["missing", "corrupt_pt"])
def test_compress_bad_model(capsys, out: Path, argv: Argv, kind: str) -> None:  # noqa: ANN001
    _fails(capsys, argv.compress(kind, "0.5"), out, argv.work[kind].name)


def test_compress_bad_sparsity(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    _fails(capsys, argv.compress("model", "1.5"), out, "sparsity")


# --- compile / report / export ---------------------------------------------------------------


@pytest.mark.parametrize("target", ["gpu", "fpga"])
@pytest.mark.parametrize("kind", ["missing", "corrupt_pt", "corrupt_onnx"])
def test_compile_bad_model(
    capsys, out: Path, work: dict[str, Path], kind: str, target: str
) -> None:  # noqa: ANN001
    _fails(
        capsys,
        ["compile", str(work[kind]), "--target", target, "--out", str(out / "b")],
        out,
        work[kind].name,
    )


def test_compile_unknown_target(capsys, out: Path, work: dict[str, Path]) -> None:  # noqa: ANN001
    msg = _fails(
        capsys,
        ["compile", str(work["model"]), "--target", "asic", "--out", str(out / "b")],
        out,
        "asic",
    )
    assert "fpga" in msg and "gpu" in msg


def test_compile_int8_unknown_calibration(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    int8 = [
        "--precision",
        "int8",
        "--calibration",
        "minmax",
        "--calib-events",
        str(argv.work["hh"]),
    ]
    _fails(capsys, argv.compile("model", "gpu", *int8), out, "minmax")


def test_compile_fpga_set_model_refused(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    _fails(capsys, argv.compile("model", "fpga"), out, "the FPGA target supports per-jet MLPs")


def test_compile_fpga_rebalance_needs_carry_cuts(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    _fails(
        capsys,
        argv.compile("model", "fpga", "--rtl-rebalance", "2"),
        out,
        "--rtl-delay-model carry",
    )


def test_compile_fpga_max_fanout_one_refused(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    _fails(
        capsys,
        argv.compile("model", "fpga", "--rtl-max-fanout", "1"),
        out,
        ">= 2 ops per register bit",
    )


def test_compile_fpga_min_slack_needs_rebalancing(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    _fails(
        capsys, argv.compile("model", "fpga", "--rtl-min-slack", "0.1"), out, "--rtl-rebalance N"
    )


def _tampered(work: dict[str, Path], tmp: Path) -> Path:
    import shutil

    dest = tmp / "tampered"
    shutil.copytree(work["bundle"], dest)
    with open(dest / "model.onnx", "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    return dest


@pytest.mark.parametrize("existing", [False, True])
def test_compile_failure_midway_keeps_old_bundle(
    capsys,  # noqa: ANN001
    out: Path,
    work: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    existing: bool,
) -> None:
    import shutil

    import trigkit.compile.onnx_export as ox

    dest = out / "b"
    if existing:
        shutil.copytree(work["bundle"], dest)
    before = {p.name: p.read_bytes() for p in dest.iterdir()} if existing else {}

    def disagree(*args: object, **kwargs: object) -> None:
        raise TrigkitError("simulated: onnxruntime disagrees with torch")

    monkeypatch.setattr(ox, "check_against_torch", disagree)
    _fails(
        capsys,
        ["compile", str(work["model"]), "--target", "gpu", "--out", str(dest)],
        out,
        "simulated",
    )
    after = {p.name: p.read_bytes() for p in dest.iterdir()} if existing else {}
    assert after == before


def _edited_manifest(work: dict[str, Path], tmp: Path, **changes: object) -> Path:
    import json
    import shutil

    dest = tmp / "edited"
    shutil.copytree(work["bundle"], dest)
    m = json.loads((dest / "manifest.json").read_text())
    (dest / "manifest.json").write_text(json.dumps({**m, **changes}))
    return dest


def test_export_fpga_bundle_refused(
    capsys, out: Path, work: dict[str, Path], tmp_path: Path
) -> None:  # noqa: ANN001
    b = _edited_manifest(work, tmp_path, target="fpga")
    _fails(capsys, ["export", "triton", str(b), str(out / "repo")], out, "expected a 'gpu' bundle")


@pytest.mark.parametrize("cmd", ["report", "export"])
def test_bad_manifest_refused(
    capsys, out: Path, work: dict[str, Path], tmp_path: Path, cmd: str
) -> None:  # noqa: ANN001
    b = _edited_manifest(work, tmp_path, format_version=99)
    argv = (
        ["report", str(b)] if cmd == "report" else ["export", "triton", str(b), str(out / "repo")]
    )
    _fails(capsys, argv, out, "bundle format 99")
    b2 = _edited_manifest(work, tmp_path / "2", model_nmae="typo")
    argv = (
        ["report", str(b2)] if cmd == "report" else ["export", "triton", str(b2), str(out / "repo")]
    )
    _fails(capsys, argv, out, "invalid manifest")


def test_report_tampered_bundle(capsys, out: Path, work: dict[str, Path], tmp_path: Path) -> None:  # noqa: ANN001
    b = _tampered(work, tmp_path)
    _fails(
        capsys,
        ["report", str(b), "--json", str(out / "r.json")],
        out,
        "sha256 mismatch for 'model.onnx'",
    )


@pytest.mark.parametrize("kind", ["missing", "corrupt_onnx"])
def test_report_not_a_bundle(capsys, out: Path, work: dict[str, Path], kind: str) -> None:  # noqa: ANN001
    _fails(capsys, ["report", str(work[kind]), "--json", str(out / "r.json")], out, work[kind].name)


def test_export_tampered_bundle(capsys, out: Path, work: dict[str, Path], tmp_path: Path) -> None:  # noqa: ANN001
    b = _tampered(work, tmp_path)
    _fails(capsys, ["export", "triton", str(b), str(out / "repo")], out, "sha256 mismatch")


def test_export_missing_bundle(capsys, out: Path, work: dict[str, Path]) -> None:  # noqa: ANN001
    _fails(
        capsys, ["export", "triton", str(work["missing"]), str(out / "repo")], out, "does-not-exist"
    )


def test_export_bad_backend(capsys, out: Path, work: dict[str, Path]) -> None:  # noqa: ANN001
    _fails(
        capsys,
        ["export", "triton", str(work["bundle"]), str(out / "repo"), "--backend", "onnxx"],
        out,
        "onnxx",
    )


# --- emulate ---------------------------------------------------------------------------------

MENU_TYPO = """\
name: typo
l1:
  L1_HTT320er:
    ht: {min: 320, jet_pt: 30, jet_abs_eta: 2.4}
hlt:
  HLT_Quad:
    seeds: [L1_HTT320er]
    jets: {pt: [30, 30, 30, 30], abs_etaa: 2.5}
"""


def test_emulate_menu_typo(capsys, out: Path, argv: Argv, tmp_path: Path) -> None:  # noqa: ANN001
    menu = tmp_path / "menu.yaml"
    menu.write_text(MENU_TYPO)
    _fails(capsys, argv.emulate(str(menu)), out, "abs_etaa")


MENU_TOP_TYPO = MENU_TYPO.replace("hlt:", "hlt_paths:")
MENU_BAD_SEED = MENU_TYPO.replace("seeds: [L1_HTT320er]", "seeds: [L1_HTT320]").replace(
    "abs_etaa", "abs_eta"
)


@pytest.mark.parametrize(
    "text, match", [(MENU_TOP_TYPO, "hlt_paths"), (MENU_BAD_SEED, "L1_HTT320")]
)
def test_emulate_menu_errors(
    capsys,  # noqa: ANN001
    out: Path,
    argv: Argv,
    tmp_path: Path,
    text: str,
    match: str,
) -> None:
    menu = tmp_path / "menu.yaml"
    menu.write_text(text)
    _fails(capsys, argv.emulate(str(menu)), out, match)


@pytest.mark.parametrize(
    "menu",
    [
        "run3_hh4bb",
        pytest.param("corrupt_yaml"),
    ],
)
def test_emulate_bad_menu(capsys, out: Path, argv: Argv, menu: str) -> None:  # noqa: ANN001
    m = str(argv.work[menu]) if menu in argv.work else menu
    _fails(capsys, argv.emulate(m), out)


@pytest.mark.parametrize("kind", ["missing", "corrupt_parquet", "corrupt_root"])
def test_emulate_bad_events(capsys, out: Path, argv: Argv, kind: str) -> None:  # noqa: ANN001
    _fails(capsys, argv.emulate("run3_hh4b", kind, "--no-plots"), out, argv.work[kind].name)


def test_emulate_nan_events(capsys, out: Path, argv: Argv) -> None:  # noqa: ANN001
    _fails(capsys, argv.emulate("run3_hh4b", "nan", "--no-plots"), out, "nan.parquet")


# --- bench / demo ----------------------------------------------------------------------------


def test_bench_generator_unknown_process(capsys, out: Path) -> None:  # noqa: ANN001
    _fails(
        capsys,
        ["bench", "generator", "--process", "qcdd", "-n", "10", "--out", str(out / "g.json")],
        out,
        "qcdd",
    )


def test_bench_emulator_bad_menu(capsys, out: Path) -> None:  # noqa: ANN001
    _fails(
        capsys,
        [
            "bench",
            "emulator",
            "--menu",
            "no_such_menu",
            "--events",
            "100",
            "--awkward-events",
            "10",
            "--base",
            "10",
            "--out",
            str(out / "e.json"),
        ],
        out,
        "no_such_menu",
    )


@pytest.mark.parametrize("kind", ["missing", "corrupt_pt"])
def test_bench_gpu_bad_model(capsys, out: Path, work: dict[str, Path], kind: str) -> None:  # noqa: ANN001
    _fails(
        capsys,
        ["bench", "gpu", "--model", str(work[kind]), "--batches", "1", "--out", str(out / "g")],
        out,
        work[kind].name,
    )


def test_bench_gpu_bad_batches(capsys, out: Path) -> None:  # noqa: ANN001
    _fails(capsys, ["bench", "gpu", "--batches", "1,x", "--out", str(out / "g")], out, "--batches")


def test_bench_all_unknown(capsys, out: Path) -> None:  # noqa: ANN001
    _fails(capsys, ["bench", "all", "--only", "fpga", "--out", str(out / "a.json")], out, "fpga")


def test_demo_bad_menu(
    capsys, out: Path, work: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    import trigkit.cli.demo_steps

    def too_late(*args: object, **kwargs: object) -> None:
        raise AssertionError("demo started generating events before validating --menu")

    monkeypatch.setattr(trigkit.cli.demo_steps, "generate_samples", too_late)
    _fails(
        capsys,
        [
            "demo",
            "--menu",
            str(work["missing"]),
            "--out",
            str(out / "demo"),
            "--scale",
            "0.01",
            "--epochs",
            "1",
            "--no-fpga",
            "--no-gpu",
        ],
        out,
        "does-not-exist",
    )


# --- missing extras (subprocess: the module is blocked before trigkit imports it) -------------


def _blocked(modules: list[str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"for m in {modules!r}: sys.modules[m] = None\n"
        "from trigkit.cli.app import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NUMBA_NUM_THREADS": "1"},
    )


def _assert_one_error(done: subprocess.CompletedProcess[str], extra: str) -> None:
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert lines and lines[-1].startswith("error:") and extra in lines[-1], done.stderr[-2000:]
    assert sum(ln.startswith("error:") for ln in lines) == 1


def test_compile_gpu_missing_extra(work: dict[str, Path], tmp_path: Path) -> None:
    done = _blocked(
        ["onnxruntime", "onnx"],
        ["compile", str(work["model"]), "--target", "gpu", "--out", str(tmp_path / "b")],
    )
    _assert_one_error(done, "trigkit[gpu]")
    assert list(tmp_path.iterdir()) == []


def test_compile_fpga_missing_extra(work: dict[str, Path], tmp_path: Path) -> None:
    done = _blocked(
        ["hls4ml"], ["compile", str(work["l1"]), "--target", "fpga", "--out", str(tmp_path / "b")]
    )
    _assert_one_error(done, "trigkit[fpga]")
    assert list(tmp_path.iterdir()) == []


def test_bench_firmware_missing_extra(tmp_path: Path) -> None:
    done = _blocked(
        ["hls4ml"],
        [
            "bench",
            "firmware",
            "--n",
            "10",
            "--repeats",
            "1",
            "--json",
            str(tmp_path / "f.json"),
            "--work-dir",
            str(tmp_path / "w"),
        ],
    )
    _assert_one_error(done, "trigkit[fpga]")
    assert not (tmp_path / "f.json").exists() and not any((tmp_path).rglob("*.json"))


def test_emulate_workers_without_dask(work: dict[str, Path], tmp_path: Path) -> None:
    done = _blocked(
        ["dask", "distributed"],
        [
            "emulate",
            "--menu",
            "run3_hh4b",
            "--out",
            str(tmp_path / "e"),
            "--workers",
            "2",
            "--signal",
            str(work["hh"]),
            "--background",
            str(work["qcd"]),
        ],
    )
    _assert_one_error(done, "trigkit[dist]")
    assert list(tmp_path.iterdir()) == []


# --- usage errors (typer's own click): usage message, exit 2, never a traceback ---------------


@pytest.mark.parametrize(
    "argv", [["train", "--no-such-option"], ["compile"], ["events", "generate", "-n", "0"]]
)
def test_usage_errors_exit_2(capsys, argv: list[str]) -> None:  # noqa: ANN001
    rc = main(argv)
    cap = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in cap.err and "Usage:" in cap.err and "Error:" in cap.err
