"""The import rules of docs/architecture.md, checked on the source (ast: nothing is imported).

Every module of ``zkvm/`` is parsed and every ``import`` in it -- at the top,
inside functions, under ``TYPE_CHECKING`` -- becomes an edge of the module
graph (``from pkg import name`` points at ``pkg.name`` when that is a module,
else at ``pkg``; the parent packages a dotted import runs are not edges, as in
import-linter). The rules:

1. no import cycle between modules;
2. layers: a module imports only from its own layer group or from lower
   layers (``LAYERS``);
3. the verifier never imports the prover, the key derivation, the runtime or
   the assembler, even lazily;
4. the package is closed: nothing in ``zkvm/`` imports the repository's
   ``bench/``, ``models/``, ``tests/`` or ``programs/``, or edits ``sys.path``.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "zkvm")

#: layer of each group of modules, bottom (0) to top; a group is ``zkvm.<name>`` (a subpackage
#: or a top-level module), ``air.chips`` is its own group, and the command modules are "cli"
LAYERS: dict[str, int] = {
    "zkvm": 0,                                          # the package: __version__, nothing else
    "errors": 1, "envelope": 1, "platform_info": 1,     # base utilities
    "field": 2,
    "poly": 3, "hash": 3,
    "fri": 4, "isa": 4,
    "air": 5, "runtime": 5, "io": 5,
    "stark": 6, "air.chips": 6, "assembler": 6,
    "api": 7,
    "onchain": 8, "segments": 8,
    "examples": 9,
    "cli": 10,
}


#: what the verifier must never reach
VERIFIER = "zkvm.stark.verifier"
VERIFIER_FORBIDDEN = ("zkvm.stark.prover", "zkvm.stark.setup", "zkvm.runtime", "zkvm.assembler",
                      "zkvm.examples", "zkvm.cli")

REPO_ONLY = {"bench", "models", "tests", "programs"}


def _modules() -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                out[rel.removesuffix(".__init__")] = path
    return out


MODULES = _modules()
TREES = {m: ast.parse(open(p, encoding="utf-8").read(), p) for m, p in MODULES.items()}


def _imports(mod: str) -> Iterator[tuple[str, int]]:
    """``(imported module or name, line)`` for every import statement of ``mod``."""
    is_pkg = MODULES[mod].endswith("__init__.py")
    for node in ast.walk(TREES[mod]):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = mod.split(".")
                if not is_pkg:
                    parts = parts[:-1]
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for a in node.names:
                sub = f"{base}.{a.name}"
                yield (sub if sub in MODULES else base), node.lineno


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.add(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(comp)
    return out


def _path(graph: dict[str, set[str]], comp: set[str]) -> str:
    """One cycle through ``comp``, for the failure message."""
    start = min(comp)
    path, seen, v = [start], {start}, start
    while True:
        v = min(w for w in graph[v] if w in comp)
        path.append(v)
        if v in seen:
            return " -> ".join(path[path.index(v):])
        seen.add(v)


def _group(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) == 1:
        return "zkvm"
    if parts[1:3] == ["air", "chips"]:
        return "air.chips"
    if parts[1].startswith("cli") or parts[1] in ("entry", "__main__"):
        return "cli"
    return parts[1]


def test_the_walker_sees_every_module_and_resolves_imports():
    assert len(MODULES) > 100 and "zkvm.air.chips.statement" in MODULES
    assert "zkvm.air.chips.planner" in GRAPH["zkvm.air.chips.divide"]       # absolute
    assert "zkvm.isa.tensor" in GRAPH["zkvm.isa.program"]                    # relative
    assert "zkvm.isa.weights_file" in GRAPH["zkvm.isa.program_hidden"]       # inside a function
    assert "zkvm.isa.events" in GRAPH["zkvm.air.chips.common"]               # TYPE_CHECKING
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_zkvm():
    cycles = list(_cycles(GRAPH))
    assert not cycles, "import cycles: " + "; ".join(_path(GRAPH, c) for c in cycles)


def test_every_module_has_a_layer():
    assert {_group(m) for m in MODULES} <= set(LAYERS), \
        sorted({_group(m) for m in MODULES} - set(LAYERS))


def test_imports_go_down_the_layers():
    bad = []
    for m in sorted(MODULES):
        for t, line in _imports(m):
            if t not in MODULES or _group(t) == _group(m):
                continue
            if LAYERS[_group(t)] >= LAYERS[_group(m)]:
                bad.append(f"{MODULES[m]}:{line}: {m} ({_group(m)}, layer {LAYERS[_group(m)]}) "
                           f"imports {t} ({_group(t)}, layer {LAYERS[_group(t)]})")
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_the_verifier_never_reaches_the_prover_runtime_or_assembler():
    seen, todo = set(), [VERIFIER]
    while todo:
        for w in GRAPH[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    bad = sorted(m for m in seen if m.startswith(VERIFIER_FORBIDDEN))
    assert not bad, f"{VERIFIER} reaches {bad}"


def test_the_package_imports_nothing_from_the_repository():
    bad = []
    for m in sorted(MODULES):
        for t, line in _imports(m):
            if t.split(".")[0] in REPO_ONLY:
                bad.append(f"{MODULES[m]}:{line}: imports {t}")
        for node in ast.walk(TREES[m]):
            if (isinstance(node, ast.Attribute) and node.attr == "path"
                    and isinstance(node.value, ast.Name) and node.value.id == "sys"):
                bad.append(f"{MODULES[m]}:{node.lineno}: uses sys.path")
    assert not bad, "\n".join(bad)
