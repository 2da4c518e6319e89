"""Parse vendor synthesis reports (Vivado/Vitis HLS, Vivado) when they exist in a project dir.

Nothing here runs a vendor tool: the project may have been synthesised elsewhere and copied back.
Three report kinds are read, each into one :class:`VendorReport` labelled with the file it came
from:

- HLS C synthesis ``csynth.xml`` / ``<top>_csynth.xml`` (Vivado HLS and Vitis HLS): latency
  best/worst case (cycles), interval min/max, target/estimated clock, BRAM_18K/DSP/FF/LUT/URAM.
- HLS C synthesis text report ``<top>_csynth.rpt`` (used when no XML is present).
- Vivado ``report_utilization`` output (``vivado_synth.rpt``, ``util.rpt``): LUT/FF/BRAM/URAM/DSP
  after logic synthesis, which supersede the HLS estimates for resources.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from trigkit.core.errors import TrigkitError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VendorReport:
    """Numbers from one vendor report; fields the report lacks are ``None``."""

    source: str  # e.g. "vendor: Vitis HLS csynth.xml"
    path: str
    tool_version: str | None = None
    part: str | None = None
    top: str | None = None
    target_clock_ns: float | None = None
    estimated_clock_ns: float | None = None
    latency_best: int | None = None
    latency_worst: int | None = None
    interval_min: int | None = None
    interval_max: int | None = None
    bram_18k: int | None = None
    dsp: int | None = None
    ff: int | None = None
    lut: int | None = None
    uram: int | None = None


def _num(text: str | None, cast: type = int) -> int | float | None:
    if text is None:
        return None
    t = text.strip().split()[0] if text.strip() else ""
    if t in ("", "-", "undef"):
        return None
    try:
        return cast(float(t)) if cast is int else cast(t)
    except ValueError:
        return None


def _xml_text(root: ET.Element, path: str) -> str | None:
    node = root.find(path)
    return node.text if node is not None else None


def parse_csynth_xml(path: str | Path) -> VendorReport:
    """Parse a Vivado/Vitis HLS ``csynth.xml`` (``DSP48E`` in Vivado HLS is read as DSP)."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
        root = ET.fromstring(re.sub(r' xmlns="[^"]+"', "", text, count=1))
    except (OSError, ET.ParseError) as exc:
        raise TrigkitError(f"{path}: not a readable csynth.xml report ({exc})") from None
    if root.find("PerformanceEstimates") is None and root.find("AreaEstimates") is None:
        raise TrigkitError(
            f"{path}: no PerformanceEstimates/AreaEstimates - not an HLS csynth.xml report"
        )
    res = root.find("AreaEstimates/Resources")
    area: dict[str, int | None] = {}
    if res is not None:
        for child in res:
            tag = "DSP" if child.tag.startswith("DSP") else child.tag
            area[tag] = _num(child.text)  # type: ignore[assignment]
    lat = "PerformanceEstimates/SummaryOfOverallLatency/"
    version = _xml_text(root, "ReportVersion/Version")
    return VendorReport(
        source=f"vendor: HLS {path.name}",
        path=str(path),
        tool_version=version.strip() if version else None,
        part=(_xml_text(root, "UserAssignments/Part") or "").strip() or None,
        top=(_xml_text(root, "UserAssignments/TopModelName") or "").strip() or None,
        target_clock_ns=_num(_xml_text(root, "UserAssignments/TargetClockPeriod"), float),  # type: ignore[arg-type]
        estimated_clock_ns=_num(
            _xml_text(root, "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"),
            float,
        ),  # type: ignore[arg-type]
        latency_best=_num(_xml_text(root, lat + "Best-caseLatency")),  # type: ignore[arg-type]
        latency_worst=_num(_xml_text(root, lat + "Worst-caseLatency")),  # type: ignore[arg-type]
        interval_min=_num(_xml_text(root, lat + "Interval-min")),  # type: ignore[arg-type]
        interval_max=_num(_xml_text(root, lat + "Interval-max")),  # type: ignore[arg-type]
        bram_18k=area.get("BRAM_18K"),
        dsp=area.get("DSP"),
        ff=area.get("FF"),
        lut=area.get("LUT"),
        uram=area.get("URAM"),
    )


def _table_rows(lines: list[str]) -> list[list[str]]:
    return [
        [c.strip() for c in ln.strip().strip("|").split("|")]
        for ln in lines
        if ln.strip().startswith("|")
    ]


def parse_csynth_rpt(path: str | Path) -> VendorReport:
    """Parse the text ``<top>_csynth.rpt`` (timing, latency summary and utilization ``Total``)."""
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise TrigkitError(f"{path}: cannot read csynth report ({exc})") from None
    fields: dict[str, float | int | None | str] = {}
    rows = _table_rows(lines)
    for i, row in enumerate(rows):
        if row and row[0] == "ap_clk" and len(row) >= 3:
            fields["target_clock_ns"] = _num(row[1], float)
            fields["estimated_clock_ns"] = _num(row[2], float)
        if row and row[0].startswith("Latency (cycles)") and i + 2 < len(rows):
            vals = rows[i + 2]
            if len(vals) >= 6:
                fields["latency_best"], fields["latency_worst"] = _num(vals[0]), _num(vals[1])
                fields["interval_min"], fields["interval_max"] = _num(vals[4]), _num(vals[5])
        if row and row[0] == "Name" and "LUT" in row:
            header = ["DSP" if h.startswith("DSP") else h for h in row]
            total = next((r for r in rows[i + 1 :] if r and r[0] == "Total"), None)
            if total:
                for key in ("BRAM_18K", "DSP", "FF", "LUT", "URAM"):
                    if key in header and header.index(key) < len(total):
                        fields[key.lower()] = _num(total[header.index(key)])
    for ln in lines:
        m = re.match(r"\s*\*\s*(Version|Product family|Target device|Project):\s*(.+)", ln)
        if m:
            fields[m.group(1)] = m.group(2).strip()
    if "latency_best" not in fields and "lut" not in fields:
        raise TrigkitError(
            f"{path}: no latency or utilization table found - not an HLS csynth.rpt report"
        )
    return VendorReport(
        source=f"vendor: HLS {path.name}",
        path=str(path),
        tool_version=fields.pop("Version", None),  # type: ignore[arg-type]
        part=fields.pop("Target device", None),  # type: ignore[arg-type]
        top=path.name.removesuffix("_csynth.rpt") or None,
        **{k: v for k, v in fields.items() if k in _NUMERIC},  # type: ignore[arg-type]
    )


_NUMERIC = {
    "target_clock_ns",
    "estimated_clock_ns",
    "latency_best",
    "latency_worst",
    "interval_min",
    "interval_max",
    "bram_18k",
    "dsp",
    "ff",
    "lut",
    "uram",
}


def parse_vivado_utilization(path: str | Path) -> VendorReport:
    """Parse a Vivado ``report_utilization`` file (after synthesis or implementation).

    ``Block RAM Tile`` counts 36 Kb tiles; it is reported here as ``bram_18k = 2 x tiles``.
    """
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise TrigkitError(f"{path}: cannot read utilization report ({exc})") from None
    got: dict[str, float | None] = {}
    patterns = {
        "lut": r"(CLB|Slice) LUTs\*?$",
        "ff": r"(CLB|Slice) Registers\*?$",
        "bram_tiles": r"Block RAM Tile\*?$",
        "uram": r"URAM\*?$",
        "dsp": r"DSPs\*?$",
    }
    for row in _table_rows(lines):
        if len(row) < 2:
            continue
        for key, pat in patterns.items():
            if key not in got and re.match(pat, row[0]):
                got[key] = _num(row[1], float)  # type: ignore[assignment]
    if "lut" not in got:
        raise TrigkitError(
            f"{path}: no 'CLB LUTs'/'Slice LUTs' row - not a Vivado utilization report"
        )
    tiles = got.get("bram_tiles")
    version = next(
        (m.group(1) for ln in lines if (m := re.search(r"Tool Version\s*:\s*(.+)", ln))), None
    )
    device = next(
        (m.group(1).strip() for ln in lines if (m := re.search(r"\|\s*Device\s*:\s*(\S+)", ln))),
        None,
    )

    def _int(key: str) -> int | None:
        v = got.get(key)
        return None if v is None else int(v)

    return VendorReport(
        source=f"vendor: Vivado {path.name}",
        path=str(path),
        tool_version=version.strip() if version else None,
        part=device,
        lut=_int("lut"),
        ff=_int("ff"),
        dsp=_int("dsp"),
        uram=_int("uram"),
        bram_18k=None if tiles is None else int(round(2 * tiles)),
    )


_UTIL_NAMES = (
    "vivado_synth.rpt",
    "util.rpt",
    "utilization.rpt",
    "*_utilization_synth.rpt",
    "*_utilization_placed.rpt",
)


def _pick_csynth_xml(root: Path, allowed: set[Path] | None) -> Path | None:
    cands = [p for p in sorted(root.rglob("*csynth.xml")) if allowed is None or p in allowed]
    if not cands:
        return None
    top_level = [p for p in cands if p.name == "csynth.xml"]
    if top_level:
        return top_level[0]
    return min(cands, key=lambda p: (len(p.name), str(p)))  # <top>_csynth.xml beats sub-functions


def find_vendor_reports(
    project_dir: str | Path, only: set[str] | None = None
) -> list[VendorReport]:
    """All vendor reports found under ``project_dir`` (HLS first, then Vivado utilization).

    ``only``: if given, the relative paths (posix) that may be read - e.g. the files a bundle's
    manifest lists and hashes. An HLS text report is used only when no ``csynth.xml`` exists.
    Unparseable files are logged and skipped; an empty list means no vendor tool ran here.
    """
    root = Path(project_dir)
    if not root.is_dir():
        return []
    allowed = None if only is None else {root / name for name in only}

    def ok(p: Path) -> bool:
        return allowed is None or p in allowed

    found: list[VendorReport] = []
    xml = _pick_csynth_xml(root, allowed)
    hls_paths = [xml] if xml else [p for p in sorted(root.rglob("*_csynth.rpt")) if ok(p)][:1]
    parsers = [(p, parse_csynth_xml if p.suffix == ".xml" else parse_csynth_rpt) for p in hls_paths]
    util = sorted({p for pat in _UTIL_NAMES for p in root.rglob(pat) if ok(p)})
    parsers += [(p, parse_vivado_utilization) for p in util[:1]]
    for p, parse in parsers:
        try:
            found.append(parse(p))
        except TrigkitError as exc:
            log.warning("skipping vendor report: %s", exc)
    return found
