"""The layout holds: no import cycle between the top-level packages of b2b_soap, and the pure layers
(transfer, matching) reach neither SQLAlchemy nor the database. Read from the source with ``ast``."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "b2b_soap"


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module) if part)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import x`
    return found


def _top(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "b2b_soap" and len(parts) > 1 else None


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "migrations" or len(rel.parts) == 1:
            continue  # top-level modules are not packages; migrations are Alembic's
        source = rel.parts[0]
        for name in _imports(path):
            target = _top(name)
            if target and target != source and (PACKAGE / target).is_dir():
                graph.setdefault(source, set()).add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt):] + [node, nxt] if nxt in trail else trail + [node, nxt]
            if nxt not in state and (found := visit(nxt, trail + [node])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return None


def _forbidden_imports(package: str) -> list[str]:
    found = []
    for path in (PACKAGE / package).rglob("*.py"):
        for name in _imports(path):
            if name.split(".")[0] == "sqlalchemy" or name == "b2b_soap.db" or name.startswith("b2b_soap.db."):
                found.append(f"{path.relative_to(PACKAGE)}: {name}")
    return sorted(found)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_import_cycle_between_packages():
    assert _cycle(_package_graph()) is None


def test_matching_imports_neither_sqlalchemy_nor_the_database():
    assert _forbidden_imports("matching") == []


def test_transfer_imports_neither_sqlalchemy_nor_the_database():
    assert _forbidden_imports("transfer") == []


def test_no_module_over_400_lines():
    long = [f"{p.relative_to(PACKAGE)}: {n}" for p in PACKAGE.rglob("*.py")
            if "migrations" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert long == []
