"""The layering contract, checked on the source of every module (imports inside functions
and `TYPE_CHECKING` blocks count too):

    tui.core      the engine: no textual, no rich, no widgets, no other tui module
    tui.actions   the action table as data: nothing of ours but tui.core, no textual
    widgets       may use tui.core and tui.actions, never the app, its screens or the CLI
    tui (rest)    the app, screens and commands: may use everything below

`make check` runs this file; it is part of the test suite too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UI_LIBRARIES = ("textual", "rich")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import statement in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if node.module is None or node.level:
                # `from . import x` may name submodules: check each as a module too.
                found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
            found.append((node.lineno, name))
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(files: list[Path], allowed) -> list[str]:
    return [
        f"{f.relative_to(ROOT)}:{line} imports {name}"
        for f in files
        for line, name in imports_of(f)
        if not allowed(name)
    ]


def test_the_engine_imports_no_ui_and_nothing_above_it() -> None:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        if top in UI_LIBRARIES or top == "widgets":
            return False
        return top != "tui" or within(name, "tui.core")

    assert violations(sources("tui/core"), allowed) == []


def test_the_action_table_is_plain_data() -> None:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        if top in UI_LIBRARIES or top == "widgets":
            return False
        return top != "tui" or within(name, "tui.core")

    assert violations([ROOT / "tui" / "actions.py"], allowed) == []


def test_widgets_import_neither_the_app_nor_its_screens() -> None:
    def allowed(name: str) -> bool:
        if name.split(".")[0] != "tui" or name == "tui":
            return True
        return within(name, "tui.core") or within(name, "tui.actions")

    assert violations(sources("widgets"), allowed) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..app import TrailscopeApp\n", "tui.app"),
        ("from . import sanitize\n", "tui.core.sanitize"),
        ("def f():\n    import textual.widget\n", "textual.widget"),
    ],
)
def test_the_checker_sees_relative_and_nested_imports(tmp_path, monkeypatch, source, expected):
    """A contract that cannot see an import passes vacuously: check the reader itself
    on a file placed as tui/core/probe.py."""
    probe = tmp_path / "tui" / "core" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(source)
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert expected in [name for _, name in imports_of(probe)]
