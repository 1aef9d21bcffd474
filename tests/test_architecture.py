"""The layout of the package: short modules, and imports that run one way.

docs/architecture.md describes the layers that these tests hold to.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "sk_dim"
MODULES = sorted(PACKAGE.rglob("*.py"))

#: What the modules of each layer may not import: lower layers never reach up.
ABOVE_THE_CORE = (
    "sk_dim._input",
    "sk_dim._training",
    "sk_dim._builders",
    "sk_dim._base",
    "sk_dim._parameters",
    "sk_dim._defaults",
    "sk_dim._persistence",
    "sk_dim.evaluation",
    "sk_dim.datasets",
    "sk_dim.callbacks",
)
FORBIDDEN = {
    "sk_dim.nn": ABOVE_THE_CORE,
    "sk_dim._input": ("sk_dim._training", "sk_dim._builders", "sk_dim._base"),
    # the engine never reaches back into the input code or the estimators
    "sk_dim._training": (
        "sk_dim._input",
        "sk_dim._builders",
        "sk_dim._base",
        "sk_dim._persistence",
        "sk_dim._defaults",
    ),
    "sk_dim._builders": ("sk_dim._training", "sk_dim._base", "sk_dim._persistence"),
}
ESTIMATOR_MODULES = ("sk_dim.deep_infomax", "sk_dim.mim", "sk_dim.two_view")
#: Lines of code outside docstrings that a module of one job stays under.
MAX_CODE_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The sk_dim modules that ``path`` imports when it is imported."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported = set()
    for node in ast.parse(path.read_text()).body:  # module level only
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            imported |= {target, *(n for n in names if n in ALL_NAMES)}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    return {module for module in imported if module in ALL_NAMES}


def code_lines(path: Path) -> int:
    """Lines of ``path`` outside docstrings."""
    tree = ast.parse(path.read_text())
    docstring_lines = set()
    for node in ast.walk(tree):
        kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        if isinstance(node, kinds) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    return len(path.read_text().splitlines()) - len(docstring_lines)


ALL_NAMES = {module_name(path) for path in MODULES}
GRAPH = {module_name(path): imported_modules(path) for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_no_module_holds_over_300_lines_of_code(path):
    assert code_lines(path) <= MAX_CODE_LINES


def test_imports_run_one_way():
    finished, active = set(), []

    def visit(module: str) -> None:
        if module in active:
            cycle = [*active[active.index(module) :], module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in finished:
            return
        active.append(module)
        for imported in GRAPH[module]:
            if imported != module and not module.startswith(imported + "."):
                visit(imported)
        active.pop()
        finished.add(module)

    for module in GRAPH:
        visit(module)


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_lower_layers_do_not_import_higher_ones(layer):
    for module, imported in GRAPH.items():
        if module == layer or module.startswith(layer + "."):
            reached = sorted(
                target
                for target in imported
                if target.startswith(FORBIDDEN[layer]) or target in ESTIMATOR_MODULES
            )
            assert not reached, f"{module} imports {reached}"


def test_the_core_imports_neither_scikit_learn_nor_skorch():
    code = (
        "import sys, sk_dim.nn; "
        "assert 'sklearn' not in sys.modules and 'skorch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
