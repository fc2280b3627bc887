"""The folders of ``src/ladle`` form layers: a module imports only from its own layer or below.

A worker on another machine imports the lower layers without the web layer, and a change low
down never has to reach back up. A new folder (or top-level module) must be placed here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ladle

SOURCE = Path(ladle.__file__).parent

# Bottom to top. A name is a folder of src/ladle, or a module directly in it.
LAYERS: list[set[str]] = [
    {"__init__", "clock", "errors", "config", "urls", "logs", "private_data", "heap", "changes"},
    # Scripts run inside the sandbox by the system buildpacks: they import nothing of Ladle.
    {"buildpacks"},
    # The `ladle` client commands: HTTP to any CF API, so nothing of the server (checked below).
    {"client"},
    {"auth"},
    {"messages"},
    {"db"},
    {"blobstore"},
    {"bits"},
    {"sandbox"},
    {"docker"},
    {"jobs"},
    {"staging"},
    {"presenters"},
    {"actions"},
    {"runner", "router"},
    {"bootstrap", "services"},
    {"api", "deps"},
    {"app"},
    {"cli", "entry", "__main__"},
]


def _layer_of(part: str) -> int:
    for index, names in enumerate(LAYERS):
        if part in names:
            return index
    raise AssertionError(f"{part!r} is in no layer: add it to LAYERS in {__file__}")


def _part(path: Path) -> str:
    relative = path.relative_to(SOURCE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "ladle":
                parts.add(pieces[1] if len(pieces) > 1 else "__init__")
    return parts


def test_no_import_runs_up_a_layer() -> None:
    upward = []
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        part = _part(path)
        for imported in _imported_parts(path) - {part}:
            if _layer_of(imported) > _layer_of(part):
                upward.append(f"{path.relative_to(SOURCE)} ({part}) imports ladle.{imported}")
    assert upward == []


def test_every_folder_has_a_layer() -> None:
    for path in SOURCE.iterdir():
        if path.name.startswith(".") or path.name == "__pycache__" or path.suffix not in ("", ".py"):
            continue
        if path.is_dir() or path.suffix == ".py":
            _layer_of(path.stem if path.suffix else path.name)


def test_client_imports_only_itself() -> None:
    """``ladle.client`` works against any Cloud Foundry: it may not import the server's code
    (the package's root, which holds only its version, is no server code)."""
    imports = []
    for path in sorted((SOURCE / "client").rglob("*.py")):
        for imported in _imported_parts(path) - {"client", "__init__"}:
            imports.append(f"{path.relative_to(SOURCE)} imports ladle.{imported}")
    assert imports == []
