"""The code the documentation shows is the code that runs: every Python block of
docs/extending.md is taken from examples/extending/, which the test suite runs."""

import re
from pathlib import Path

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
