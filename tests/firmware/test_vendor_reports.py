"""Vendor report parsing against hand-made fixtures with known numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from trigkit.core.errors import TrigkitError
from trigkit.firmware.vendor_reports import (
    find_vendor_reports,
    parse_csynth_rpt,
    parse_csynth_xml,
    parse_vivado_utilization,
)

CSYNTH_XML = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion>
    <Version>2023.2</Version>
  </ReportVersion>
  <UserAssignments>
    <unit>ns</unit>
    <ProductFamily>virtexuplus</ProductFamily>
    <Part>xcvu9p-flgb2104-2-e</Part>
    <TopModelName>myproject</TopModelName>
    <TargetClockPeriod>5.00</TargetClockPeriod>
    <ClockUncertainty>1.35</ClockUncertainty>
    <FlowTarget>vivado</FlowTarget>
  </UserAssignments>
  <PerformanceEstimates>
    <PipelineType>yes</PipelineType>
    <SummaryOfTimingAnalysis>
      <unit>ns</unit>
      <EstimatedClockPeriod>3.542</EstimatedClockPeriod>
    </SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit>
      <Best-caseLatency>7</Best-caseLatency>
      <Average-caseLatency>8</Average-caseLatency>
      <Worst-caseLatency>9</Worst-caseLatency>
      <Best-caseRealTimeLatency>35.000 ns</Best-caseRealTimeLatency>
      <Worst-caseRealTimeLatency>45.000 ns</Worst-caseRealTimeLatency>
      <Interval-min>1</Interval-min>
      <Interval-max>2</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources>
      <BRAM_18K>4</BRAM_18K>
      <DSP>38</DSP>
      <FF>8123</FF>
      <LUT>63018</LUT>
      <URAM>0</URAM>
    </Resources>
    <AvailableResources>
      <BRAM_18K>4320</BRAM_18K>
      <DSP>6840</DSP>
      <FF>2364480</FF>
      <LUT>1182240</LUT>
      <URAM>960</URAM>
    </AvailableResources>
  </AreaEstimates>
</profile>
"""

# Vivado HLS (pre-Vitis) names the DSP column DSP48E and declares a namespace.
CSYNTH_XML_VIVADO = CSYNTH_XML.replace("<profile>", '<profile xmlns="urn:x">').replace(
    "<DSP>38</DSP>", "<DSP48E>40</DSP48E>"
)

CSYNTH_RPT = """================================================================
== Vitis HLS Report for 'myproject'
================================================================
* Date:           Thu Nov 26 10:00:00 2026

* Version:        2023.2 (Build 4023990 on Oct 11 2023)
* Project:        myproject_prj
* Solution:       solution1 (Vivado IP Flow Target)
* Product family: virtexuplus
* Target device:  xcvu9p-flgb2104-2-e


================================================================
== Performance Estimates
================================================================
+ Timing:
    * Summary:
    +--------+---------+----------+------------+
    |  Clock |  Target | Estimated| Uncertainty|
    +--------+---------+----------+------------+
    |ap_clk  |  5.00 ns|  3.542 ns|     1.35 ns|
    +--------+---------+----------+------------+

+ Latency:
    * Summary:
    +---------+---------+-----------+-----------+-----+-----+---------+
    |  Latency (cycles) |   Latency (absolute)  |  Interval | Pipeline|
    |   min   |   max   |    min    |    max    | min | max |   Type  |
    +---------+---------+-----------+-----------+-----+-----+---------+
    |        6|       10|  30.000 ns|  50.000 ns|    1|    3|      yes|
    +---------+---------+-----------+-----------+-----+-----+---------+

================================================================
== Utilization Estimates
================================================================
* Summary:
+-----------------+---------+-------+---------+---------+-----+
|       Name      | BRAM_18K|  DSP  |    FF   |   LUT   | URAM|
+-----------------+---------+-------+---------+---------+-----+
|DSP              |        -|      -|        -|        -|    -|
|Expression       |        -|      -|        0|      812|    -|
|Instance         |        2|     37|     5120|    41000|    -|
|Register         |        -|      -|     2900|        -|    -|
+-----------------+---------+-------+---------+---------+-----+
|Total            |        2|     37|     8020|    41812|    0|
+-----------------+---------+-------+---------+---------+-----+
|Available SLR    |     1440|   2280|   788160|   394080|  320|
+-----------------+---------+-------+---------+---------+-----+
"""

UTIL_RPT = """Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.
---------------------------------------------------------------------------------------------
| Tool Version : Vivado v.2023.2 (lin64) Build 4029153 Fri Oct 13 20:13:54 MDT 2023
| Design       : myproject
| Device       : xcvu9p-flgb2104-2-e
| Design State : Synthesized
---------------------------------------------------------------------------------------------

1. CLB Logic
------------

+----------------------------+-------+-------+------------+-----------+-------+
|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |
+----------------------------+-------+-------+------------+-----------+-------+
| CLB LUTs*                  | 28385 |     0 |          0 |   1182240 |  2.40 |
|   LUT as Logic             | 28301 |     0 |          0 |   1182240 |  2.39 |
|   LUT as Memory            |    84 |     0 |          0 |    591840 |  0.01 |
| CLB Registers              |  5624 |     0 |          0 |   2364480 |  0.24 |
|   Register as Flip Flop    |  5624 |     0 |          0 |   2364480 |  0.24 |
+----------------------------+-------+-------+------------+-----------+-------+

2. BLOCKRAM
-----------

+-------------------+------+-------+------------+-----------+-------+
|     Site Type     | Used | Fixed | Prohibited | Available | Util% |
+-------------------+------+-------+------------+-----------+-------+
| Block RAM Tile    |  1.5 |     0 |          0 |      2160 |  0.07 |
|   RAMB36/FIFO*    |    1 |     0 |          0 |      2160 |  0.05 |
|   RAMB18          |    1 |     0 |          0 |      4320 |  0.02 |
| URAM              |    0 |     0 |          0 |       960 |  0.00 |
+-------------------+------+-------+------------+-----------+-------+

3. ARITHMETIC
-------------

+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| DSPs           |   12 |     0 |          0 |      6840 |  0.18 |
|   DSP48E2 only |   12 |       |            |           |       |
+----------------+------+-------+------------+-----------+-------+
"""


def test_csynth_xml_numbers(tmp_path: Path) -> None:
    p = tmp_path / "csynth.xml"
    p.write_text(CSYNTH_XML)
    r = parse_csynth_xml(p)
    assert (r.latency_best, r.latency_worst, r.interval_min, r.interval_max) == (7, 9, 1, 2)
    assert (r.bram_18k, r.dsp, r.ff, r.lut, r.uram) == (4, 38, 8123, 63018, 0)
    assert r.target_clock_ns == 5.0 and r.estimated_clock_ns == pytest.approx(3.542)
    assert r.part == "xcvu9p-flgb2104-2-e" and r.top == "myproject" and r.tool_version == "2023.2"
    assert "csynth.xml" in r.source and r.source.startswith("vendor")


def test_csynth_xml_vivado_hls_dsp48e_and_namespace(tmp_path: Path) -> None:
    p = tmp_path / "myproject_csynth.xml"
    p.write_text(CSYNTH_XML_VIVADO)
    assert parse_csynth_xml(p).dsp == 40


def test_csynth_rpt_numbers(tmp_path: Path) -> None:
    p = tmp_path / "myproject_csynth.rpt"
    p.write_text(CSYNTH_RPT)
    r = parse_csynth_rpt(p)
    assert (r.latency_best, r.latency_worst, r.interval_min, r.interval_max) == (6, 10, 1, 3)
    assert (r.bram_18k, r.dsp, r.ff, r.lut, r.uram) == (2, 37, 8020, 41812, 0)
    assert r.target_clock_ns == 5.0 and r.estimated_clock_ns == pytest.approx(3.542)
    assert r.part == "xcvu9p-flgb2104-2-e" and r.top == "myproject"


def test_vivado_utilization_numbers(tmp_path: Path) -> None:
    p = tmp_path / "vivado_synth.rpt"
    p.write_text(UTIL_RPT)
    r = parse_vivado_utilization(p)
    assert (r.lut, r.ff, r.dsp, r.uram, r.bram_18k) == (28385, 5624, 12, 0, 3)
    assert r.part == "xcvu9p-flgb2104-2-e"
    assert r.latency_best is None


def test_find_reports_in_project_tree(tmp_path: Path) -> None:
    rep = tmp_path / "prj" / "myproject_prj" / "solution1" / "syn" / "report"
    rep.mkdir(parents=True)
    (rep / "csynth.xml").write_text(CSYNTH_XML)
    (rep / "myproject_csynth.rpt").write_text(CSYNTH_RPT)  # ignored: the XML wins
    (rep / "dense_csynth.xml").write_text(CSYNTH_XML.replace("63018", "1"))  # sub-function
    (tmp_path / "prj" / "vivado_synth.rpt").write_text(UTIL_RPT)
    found = find_vendor_reports(tmp_path / "prj")
    assert [r.lut for r in found] == [63018, 28385]


def test_no_reports_is_empty_and_garbage_is_refused(tmp_path: Path) -> None:
    assert find_vendor_reports(tmp_path) == []
    assert find_vendor_reports(tmp_path / "absent") == []
    bad = tmp_path / "csynth.xml"
    bad.write_text("<profile><Nothing/></profile>")
    with pytest.raises(TrigkitError, match="csynth.xml"):
        parse_csynth_xml(bad)
    bad.write_text("not xml at all <")
    with pytest.raises(TrigkitError, match="not a readable"):
        parse_csynth_xml(bad)
    assert find_vendor_reports(tmp_path) == []  # unparseable files are skipped, not fatal
    util = tmp_path / "util.rpt"
    util.write_text("| nothing | here |\n")
    with pytest.raises(TrigkitError, match="utilization"):
        parse_vivado_utilization(util)


def test_only_listed_files_are_read(tmp_path: Path) -> None:
    rep = tmp_path / "syn" / "report"
    rep.mkdir(parents=True)
    (rep / "csynth.xml").write_text(CSYNTH_XML)
    (tmp_path / "vivado_synth.rpt").write_text(UTIL_RPT)
    assert [r.lut for r in find_vendor_reports(tmp_path, only={"vivado_synth.rpt"})] == [28385]
    assert find_vendor_reports(tmp_path, only=set()) == []
