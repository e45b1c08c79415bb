"""The code the documentation shows is the code that runs: every Python block of
docs/extending.md is taken from examples/extending/, which the test suite runs; the design
page names only modules that exist; and the site builds with warnings as errors."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "extending"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_every_code_block_of_the_extending_guide_is_in_the_example():
    guide = (ROOT / "docs" / "extending.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    assert len(blocks) >= 4
    sources = [_lines(p.read_text()) for p in sorted(EXAMPLES.glob("*.py"))]
    for block in blocks:
        want = _lines(block)
        found = any(want == src[i:i + len(want)] for src in sources
                    for i in range(len(src) - len(want) + 1))
        assert found, f"this block of docs/extending.md is not in examples/extending:\n{block}"


def test_the_design_page_names_only_modules_that_exist():
    page = (ROOT / "docs" / "design.md").read_text()
    tree = page.split("```")[1]
    for name in re.findall(r"\b([a-z_]+\.py)\b", tree):
        assert list((ROOT / "raymlx").rglob(name)), f"design.md names {name}, which is gone"


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    """``make docs``: the generated benchmark pages, then mkdocs --strict (a broken link, a
    page left out of the build or a docstring mkdocstrings cannot read fails it)."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed (it is in the dev extra)")
    gen = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_benchmarks.py")],
                         capture_output=True, text=True, timeout=120)
    assert gen.returncode == 0, gen.stderr
    pages = sorted(p.stem for p in (ROOT / "docs" / "benchmarks" / "results").glob("*.md"))
    results = sorted(p.stem for p in (ROOT / "benchmarks" / "results").glob("*.json"))
    assert pages == sorted([*results, "index"])
    build = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, build.stderr[-3000:]
    api = (tmp_path / "api" / "tabular" / "index.html").read_text()
    assert "explain_row" in api and "Searches, bags and ensembles models" in api
    assert (tmp_path / "benchmarks" / "results" / "serving" / "index.html").is_file()
