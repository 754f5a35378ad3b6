"""The folder tree is the architecture: domain rooms know no Dagster, and no module imports itself back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "onevision_dagster"
DOMAIN_ROOMS = ("contract", "ingest", "consolidate", "history", "experiment", "reports", "app", "demo",
                "documents")
DAGSTER_ROOTS = {"dagster", "dagster_webserver", "dagster_duckdb", "dagster_postgres", "dagster_graphql",
                 "dagster_pipes", "dagster_shared"}


def _modules() -> dict[str, Path]:
    """Dotted name -> file, with `assets/` and `resources/` under the package namespace as installed."""
    out: dict[str, Path] = {}
    for root, prefix in ((REPO / PACKAGE, PACKAGE), (REPO / "assets", f"{PACKAGE}.assets"),
                         (REPO / "resources", f"{PACKAGE}.resources")):
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix, *parts])] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(project modules, external top-level packages) imported anywhere in the file, functions included; not the
    imports under `if TYPE_CHECKING:`, which annotations read and the running program never executes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    is_package = path.name == "__init__.py"
    local, external = set(), set()

    def resolve(target: str) -> None:
        if target.split(".")[0] != PACKAGE:
            external.add(target.split(".")[0])
            return
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target != name:
            local.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                resolve(full if full in MODULES else base)
    return local, external


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


@pytest.mark.parametrize("room", DOMAIN_ROOMS)
def test_domain_rooms_import_no_dagster(room: str) -> None:
    prefix = f"{PACKAGE}.{room}"
    members = [m for m in MODULES if m == prefix or m.startswith(prefix + ".")]
    offenders = []
    for start in members:
        seen, stack = {start}, [start]
        while stack:  # what the module imports, directly or through other project modules
            current = stack.pop()
            local, external = GRAPH[current]
            if external & DAGSTER_ROOTS:
                offenders.append(f"{start} -> ... -> {current} imports {sorted(external & DAGSTER_ROOTS)}")
            for nxt in local - seen:
                seen.add(nxt)
                stack.append(nxt)
    assert not offenders, "\n".join(offenders)


def test_domain_rooms_exist() -> None:
    present = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    assert {"contract", "ingest", "consolidate", "reports", "demo", "orchestration"} <= present


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle() -> None:
    cycles = _cycles({name: local for name, (local, _) in GRAPH.items()})
    assert not cycles, cycles


def test_the_cycle_detector_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
