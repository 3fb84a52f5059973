"""The house rules that keep the code's rooms apart, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import progbar

PACKAGE = Path(progbar.__file__).resolve().parent  # the checkout's, or the installed wheel's
ADAPTERS = ["keras", "tf_keras", "torch", "lightning", "transformers", "ray", "pandas", "dask"]


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from X import name`` and ``import X`` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = ("." * node.level) + (node.module or "")
            found += [(module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_use_public_names_only(adapter: str) -> None:
    for module, name in _imports(PACKAGE / f"{adapter}.py"):
        inside = module.startswith(".") or module == "progbar" or module.startswith("progbar.")
        if not inside:
            continue
        parts = module.lstrip(".").split(".")
        assert not any(p.startswith("_") for p in parts if p), (adapter, module, name)
        assert not name.startswith("_"), (adapter, module, name)


def test_the_core_imports_no_adapter() -> None:
    for path in PACKAGE.glob("_*.py"):
        for module, _ in _imports(path):
            leaf = module.lstrip(".").split(".")[-1]
            assert leaf not in ADAPTERS, (path.name, module)
