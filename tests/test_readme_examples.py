"""The README's "Models trained elsewhere" examples run as written.

Each `#### <format>` example of that section is one ```python block (the file named on its
first line) and one ```console block. In an empty directory, `$ python FILE` executes the
Python block verbatim and each `$ trigkit ...` line runs through the CLI entry point
(:func:`trigkit.cli.app.main`); every command must exit 0. Output lines the README shows that
start with ``wrote <target> bundle <dir>`` or ``OK:`` must be printed too. A README edit that
breaks an example fails here. The Keras/QKeras example needs TensorFlow and QKeras: it runs in
the QKeras venv (scripts/test-qkeras) and is skipped elsewhere.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from trigkit.cli.app import main

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Models trained elsewhere (ONNX, torch, Keras/QKeras)"
FORMATS = ("ONNX", "TorchScript", "torch.export", "Keras / QKeras", "DeepSets", "ParticleNet")
_FENCE = re.compile(r"```(\w+)\n(.*?)\n```", re.S)


@dataclass(frozen=True)
class Example:
    title: str
    script: str  # the file the Python block names on its first line
    code: str
    commands: tuple[str, ...]  # each `$ ...` line, without the prompt
    expected: tuple[str, ...]  # output lines the README shows


def _section(text: str) -> str:
    start = text.index(SECTION)
    end = text.index("\n## ", start + 1)
    sub = text.find("\n### ", start + 1)
    return text[start : sub if 0 < sub < end else end]


def read_examples(text: str) -> list[Example]:
    """The examples of the section, in order; a malformed one fails with its title."""
    out = []
    for part in _section(text).split("\n#### ")[1:]:
        title, _, body = part.partition("\n")
        blocks = {lang: code for lang, code in _FENCE.findall(body)}
        if "python" not in blocks:
            continue  # prose (the options)
        assert "console" in blocks, f"README example '{title}': no ```console block"
        code = blocks["python"]
        script = re.match(r"# (\S+\.py):", code)
        assert script, f"README example '{title}': the python block must start '# FILE.py:'"
        lines = blocks["console"].splitlines()
        commands = tuple(line[2:] for line in lines if line.startswith("$ "))
        expected = tuple(line for line in lines if not line.startswith("$ "))
        out.append(Example(title.strip(), script.group(1), code, commands, expected))
    return out


EXAMPLES = read_examples(README.read_text())


def test_one_example_per_format() -> None:
    assert [e.title.split(" (")[0].split(" `")[0] for e in EXAMPLES] == list(FORMATS)
    for e in EXAMPLES:
        assert f"python {e.script}" in e.commands, f"{e.title}: `$ python {e.script}` missing"
        assert any(c.startswith("trigkit compile ") for c in e.commands), e.title


def test_parser_reads_blocks_and_lines() -> None:
    text = (
        f"{SECTION}\n\n#### Fmt (x)\n\n```python\n# make.py: m\nprint(1)\n```\n\n```console\n"
        "$ python make.py\n$ trigkit compile m.onnx --out b\nwrote gpu bundle b (x)\n```\n"
        "\n#### Options\n\n- prose\n\n## Next\n"
    )
    (ex,) = read_examples(text)
    assert ex == Example(
        "Fmt (x)",
        "make.py",
        "# make.py: m\nprint(1)",
        ("python make.py", "trigkit compile m.onnx --out b"),
        ("wrote gpu bundle b (x)",),
    )


def _checked(line: str) -> str | None:
    """The part of a README output line the run must print (None: not checked)."""
    m = re.match(r"(wrote (gpu|fpga) bundle \S+) \(", line)
    if m:
        return m.group(1)
    return line if line.startswith("OK:") else None


def _run(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    printed = []
    for command in example.commands:
        argv = shlex.split(command, comments=True)
        if argv == ["python", example.script]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # exporters' deprecation notices
                exec(compile(example.code, example.script, "exec"), {"__name__": "__main__"})
            continue
        assert argv[0] == "trigkit", f"{example.title}: cannot run `{command}`"
        capsys.readouterr()
        rc = main(argv[1:])
        cap = capsys.readouterr()
        assert rc == 0, f"{example.title}: `{command}` exited {rc}: {cap.err.strip()}"
        printed.append(" ".join(cap.out.split()))
    text = " ".join(printed)
    for line in filter(None, map(_checked, example.expected)):
        assert " ".join(line.split()) in text, f"{example.title}: README shows '{line}'"


def _needs(title: str) -> list[pytest.MarkDecorator]:
    if title.startswith("Keras"):
        why = "qkeras not installed (run scripts/test-qkeras)"
        return [pytest.mark.qkeras, pytest.mark.skipif(not _has("qkeras"), reason=why)]
    if "FPGA" in title:
        why = "hls4ml or g++ missing"
        missing = not _has("hls4ml") or shutil.which("g++") is None
        return [pytest.mark.fpga_tools, pytest.mark.slow, pytest.mark.skipif(missing, reason=why)]
    return [pytest.mark.skipif(not _has("onnxruntime"), reason="onnxruntime not installed")]


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(
    "example", [pytest.param(e, id=e.title.split(" ")[0], marks=_needs(e.title)) for e in EXAMPLES]
)
def test_readme_example_runs_as_written(
    example: Example,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    _run(example, tmp_path, capsys)
