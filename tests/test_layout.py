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


def _module_name(path: Path) -> str:
    parts = ["progbar", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _relative_imports(path: Path) -> set[str]:
    """The package's modules that ``path`` imports, at its top or inside a function
    (what only the type checker reads, under ``if TYPE_CHECKING:``, is left out)."""
    me = _module_name(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt] | list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                visit(list(node.orelse))
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    found.add(".".join([*base, node.module]))
                else:
                    found.update(".".join([*base, alias.name]) for alias in node.names)
            visit(list(ast.iter_child_nodes(node)))

    visit(list(ast.parse(path.read_text(encoding="utf-8")).body))
    return found


def test_no_import_cycles_at_import_time_or_inside_functions() -> None:
    graph = {_module_name(p): _relative_imports(p) for p in PACKAGE.rglob("*.py")}
    graph = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for dep in graph[node]:
                if dep == goal:
                    return True
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return False

    cycles = sorted(m for m in graph if reaches(m, m) and m != "progbar")
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_no_class_over_500_lines_and_no_function_over_80() -> None:
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            limit = (500 if isinstance(node, ast.ClassDef) else
                     80 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None)
            if limit is not None:
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    too_long.append(f"{path.name}:{node.name} {lines} lines")
    assert not too_long, too_long


def test_progbar_pandas_without_pandas_names_pandas() -> None:
    # Without pandas there is usually no numpy either: the error names pandas, what
    # the user has to install, as every other adapter names its framework.
    import subprocess
    import sys

    code = ("import sys; sys.modules['numpy'] = None; sys.modules['pandas'] = None\n"
            "try:\n    import progbar.pandas\n"
            "except ModuleNotFoundError as e:\n    print(e.name, '|', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent).stdout
    assert out.startswith("pandas | progbar.pandas needs pandas"), out
