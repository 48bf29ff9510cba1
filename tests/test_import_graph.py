"""The import graph follows the data flow: no cycle, and no import back up the flow.

The package's import graph (every import, lazy ones included; ``TYPE_CHECKING`` imports excluded) may
hold only the cycles listed in ``KNOWN_CYCLES`` (none), and a module may import only from its own step
of the flow or an earlier one (``LAYERS``, the order of docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "harvester", "index")

#: The cycles that remain, each as the set of modules in it.
KNOWN_CYCLES: set[frozenset[str]] = set()

#: The steps of the flow, in order, by module prefix (the longest prefix decides). The first holds the
#: shared types every step may use: the record model, errors, serialisation, the config's schema.
LAYERS: list[tuple[str, ...]] = [
    ("harvester",),  # model, errors, serial, version, frames, links, citation, grouping, config_schema, ...
    ("harvester.sources",),
    ("harvester.crosswalks",),
    ("harvester.tagging",),
    ("harvester.config", "harvester.config_resolve"),  # loading a config resolves profiles and compiles rules
    ("harvester.store",),
    ("index",),
    ("harvester.pipeline",),
    ("harvester.linkcheck",),
    ("harvester.metrics",),
    ("harvester.demo",),
    ("api",),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path, modules: set[str]) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)
               for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name.removeprefix("fedcat.") for a in node.names if a.name.startswith("fedcat.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("fedcat."):
                origin = node.module.removeprefix("fedcat.")
            else:
                continue
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
        for target in targets:
            while target and target not in modules:  # a name inside a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                out.add(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return out


def test_no_import_cycle_but_the_known_ones() -> None:
    found = cycles(graph())
    assert not found - KNOWN_CYCLES, f"new or grown import cycles: {[sorted(c) for c in found - KNOWN_CYCLES]}"
    assert not KNOWN_CYCLES - found, f"gone (remove from KNOWN_CYCLES): {[sorted(c) for c in KNOWN_CYCLES - found]}"


def test_the_graph_sees_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == {frozenset({"a", "b", "c"})}


def layer_of(module: str) -> int:
    best, length = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = i, len(prefix)
    assert best >= 0, f"{module} is in no step of LAYERS"
    return best


def upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in edges.items() for b in targets if layer_of(b) > layer_of(a))


def test_no_import_back_up_the_flow() -> None:
    assert upward(graph()) == []


def test_the_flow_check_sees_an_import_back_up() -> None:
    edges = {"harvester.store.records": {"harvester.pipeline.run"}, "harvester.pipeline.run": {"index.base"}}
    assert upward(edges) == ["harvester.store.records -> harvester.pipeline.run"]
    assert layer_of("harvester.config_schema") == 0 and layer_of("harvester.config") == 4
