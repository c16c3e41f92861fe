"""The house's layers (STYLE.md): bench -> kaizen -> funnel, one way, no cycles, no lazy imports.

The contracts live in pyproject.toml ([tool.importlinter]) and `lint-imports` runs in .ci/run;
these tests show that the check passes on the tree and fails on a deliberate upward import and
on a deliberate cycle, so a contract that cannot fail would be caught here.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("funnel", "kaizen", "bench")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The three packages and the contract, copied where they can be broken on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_its_layer_contracts():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_from_funnel_into_kaizen_breaks_the_contract(tree_copy: Path):
    _append(tree_copy / "funnel" / "selectors.py", "import kaizen.models  # noqa")
    result = _lint_imports(tree_copy)
    assert result.returncode != 0
    assert "in one direction BROKEN" in result.stdout
    assert "funnel.selectors -> kaizen.models" in result.stdout


def test_the_product_importing_bench_breaks_the_contract(tree_copy: Path):
    _append(tree_copy / "kaizen" / "views" / "cycles.py", "import bench.synthetic  # noqa")
    result = _lint_imports(tree_copy)
    assert result.returncode != 0
    assert "kaizen.views.cycles -> bench.synthetic" in result.stdout


def test_a_cycle_between_two_parts_of_funnel_breaks_the_contract(tree_copy: Path):
    # funnel.pipeline imports funnel.metrics; the reverse closes a cycle.
    _append(tree_copy / "funnel" / "metrics" / "xmr.py", "import funnel.pipeline.run  # noqa")
    result = _lint_imports(tree_copy)
    assert result.returncode != 0
    assert "no import cycles between the parts of funnel and of kaizen BROKEN" in result.stdout


def _imports_inside_functions(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.append(f"{path.relative_to(root)}:{inner.lineno} in {node.name}()")
    return found


def test_no_module_imports_another_inside_a_function():
    """An import hidden in a function dodges a cycle instead of removing it (STYLE.md)."""
    found = [
        hit
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for hit in _imports_inside_functions(path)
    ]
    assert found == []


def test_the_lazy_import_check_finds_one(tmp_path: Path):
    module = tmp_path / "lazy.py"
    module.write_text("import os\n\n\ndef f():\n    from funnel import models\n    return models\n")
    assert _imports_inside_functions(module, tmp_path) == ["lazy.py:5 in f()"]
