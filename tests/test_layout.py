"""The package's shape: products in folders, the import rule between them, small modules
that say what they are."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "raymlx"
INDEPENDENT = ("searchers", "schedulers", "nas", "cluster")  # never import the tabular product
MAX_LINES = 400


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this file's package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("product", INDEPENDENT)
def test_the_other_products_never_import_the_tabular_one(product):
    offenders = {str(p.relative_to(PACKAGE)): sorted(m for m in _imports(p)
                                                     if m.startswith("raymlx.tabular"))
                 for p in (PACKAGE / product).rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_products_are_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"tabular", "searchers", "schedulers", "nas", "cluster", "testing",
                       "_internal"}
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose == {"__init__.py", "errors.py", "cli.py"}


def test_modules_are_short_and_start_with_a_docstring():
    long = {str(p.relative_to(PACKAGE)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
    undocumented = [str(p.relative_to(PACKAGE)) for p in _modules()
                    if ast.get_docstring(ast.parse(p.read_text())) is None]
    assert not undocumented


def test_the_import_walker_sees_function_level_imports(tmp_path):
    sample = PACKAGE / "cluster" / "cli.py"  # imports raymlx.errors inside a function
    assert "raymlx.errors" in _imports(sample)
