"""The layer rule (README, "Architecture"), read from the source with `ast`: every import of an
`interviewer` module is checked against what its layer may import, and no module is over 500
lines. The rule:

- the kernel (`domain`, `config`, `errors`, `candidate_label`, the package itself) imports
  nothing above it; every layer may import it;
- `llm/` imports only itself; `store/`, `bank/` and `sandbox/` only themselves;
- `engine/` imports `llm` and `bank`;
- `services/` imports `engine`, `llm`, `store`, `bank`, `sandbox`;
- `web/` and the CLI import only `services/` (and their own modules); the composition roots
  (`web/app.py`, `cli.py`) may wire anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "interviewer"
MAX_LINES = 500
KERNEL = {
    "interviewer",
    "interviewer.domain",
    "interviewer.config",
    "interviewer.errors",
    "interviewer.candidate_label",
}
COMPOSITION_ROOTS = {"interviewer.web.app", "interviewer.cli"}
MAY_IMPORT: dict[str, set[str]] = {
    "llm": set(),
    "store": set(),
    "bank": set(),
    "sandbox": set(),
    "engine": {"llm", "bank"},
    "services": {"engine", "llm", "store", "bank", "sandbox"},
    "web": {"services"},
    "cli": {"services"},
}


def layer(module: str) -> str:
    """The layer of a module: its sub-package (`web`, `engine`, ...), `cli` for the `cli*`
    modules, `kernel` for the shared records."""
    if module in KERNEL:
        return "kernel"
    part = module.split(".")[1]
    return "cli" if part.startswith("cli") else part


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of an `interviewer` module, the lazy ones inside
    functions included; `from x import y` counts `x.y` when `y` is a module."""
    known = modules()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.append((node.lineno, full if full in known else base))
    return sorted(
        {(line, name) for line, name in out if name == "interviewer" or name.startswith("interviewer.")}
    )


def violations() -> list[str]:
    found = []
    for module, path in modules().items():
        own = layer(module)
        if own == "kernel" and module != "interviewer":
            allowed = {"kernel"}
        elif module in COMPOSITION_ROOTS:
            continue
        else:
            allowed = {own, "kernel", *MAY_IMPORT.get(own, set())}
        for line, target in imports(module, path):
            if layer(target) not in allowed:
                found.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {own} -> {layer(target)} ({target})"
                )
    return found


def test_no_import_runs_against_the_layers() -> None:
    assert violations() == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_is_over_500_lines(module: str) -> None:
    lines = len(modules()[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most {MAX_LINES}): split it by job"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The walk finds lazy and relative imports (a rule that sees nothing passes for nothing)."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from ..store import repo\n    import interviewer.web.app\n")
    found = imports("interviewer.engine.probe", source)
    assert (2, "interviewer.store.repo") in found
    assert (3, "interviewer.web.app") in found
    assert layer("interviewer.store.repo") not in {"engine", "kernel", *MAY_IMPORT["engine"]}
