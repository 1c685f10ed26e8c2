"""Textual's private API: used in one module (widgets/textual_private.py), with Textual
pinned exactly. An upgrade that removes or renames a hook fails here, by name."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import tomllib
from pathlib import Path

import pytest
import textual
from textual.app import App
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget

from tests.conftest import ROOT
from widgets.textual_private import HOOKS, TEXTUAL_VERSION, Hook

SHIM = ROOT / "widgets" / "textual_private.py"
OUR_MODULES = sorted((ROOT / "tui").glob("*.py")) + sorted((ROOT / "widgets").glob("*.py"))


def test_textual_is_the_pinned_version() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"textual=={TEXTUAL_VERSION}" in deps
    assert f"textual=={TEXTUAL_VERSION}" in (ROOT / "constraints.txt").read_text().split()
    assert textual.__version__ == TEXTUAL_VERSION


def _lookup(owner: type, name: str) -> object:
    for cls in owner.__mro__:
        if name in vars(cls):
            return vars(cls)[name]
    raise AssertionError(f"{owner.__name__}.{name} is gone from Textual {textual.__version__}")


@pytest.mark.parametrize("hook", HOOKS, ids=repr)
def test_each_hook_is_still_there(hook: Hook) -> None:
    if hook.kind == "attribute":
        instance = hook.owner()
        assert hasattr(instance, hook.name), f"{hook!r} is no longer set by __init__"
        return
    found = _lookup(hook.owner, hook.name)
    if hook.kind == "reactive":
        assert isinstance(found, Reactive), f"{hook!r} is no longer a reactive"
        return
    assert callable(found), hook
    params = tuple(inspect.signature(found).parameters)
    assert params == hook.params, f"{hook!r} now takes {params}, the shim passes {hook.params}"


def test_batch_update_still_begins_and_ends_a_batch() -> None:
    """The frame hold (tui/policies.FrameHold) enters App.batch_update() in one handler
    and leaves it in another: it must still count a batch that suspends repaints."""
    app = App()
    hold = app.batch_update()
    hold.__enter__()
    assert app._batch_count == 1
    hold.__exit__(None, None, None)
    assert app._batch_count == 0


def _textual_private_names() -> dict[str, str]:
    """Private names (`_x`) of every Textual class our classes derive from, and App's."""
    bases: set[type] = {App, Screen, Widget}
    for path in OUR_MODULES:
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for obj in vars(importlib.import_module(name)).values():
            if inspect.isclass(obj) and obj.__module__ == name:
                bases.update(b for b in obj.__mro__ if b.__module__.startswith("textual."))
    names: dict[str, str] = {}
    for base in bases:
        for n in dir(base):
            if n.startswith("_") and not n.startswith("__"):
                names.setdefault(n, base.__qualname__)
        try:
            src = inspect.getsource(base)
        except (OSError, TypeError):
            continue
        for n in re.findall(r"self\.(_[a-z]\w*)\s*(?::[^=\n]*)?=", src):
            names.setdefault(n, base.__qualname__)
    return names


def test_no_private_textual_name_outside_the_shim() -> None:
    """No module but widgets/textual_private.py reads, calls or overrides a private name
    of a Textual class we use (a name we happened to share would shadow Textual's)."""
    private = _textual_private_names()
    found = []
    for path in OUR_MODULES:
        if path == SHIM:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private:
                found.append(f"{path.name}:{node.lineno} .{node.attr} ({private[node.attr]})")
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                        item.name in private
                    ):
                        found.append(
                            f"{path.name}:{item.lineno} def {item.name} ({private[item.name]})"
                        )
    assert not found, "move these into widgets/textual_private.py:\n" + "\n".join(found)


# Tests and benchmarks observe the app through a few Textual internals (frames,
# notifications, the compositor); they are not the app's, but an upgrade breaks them
# the same way. (owner, name): checked on the class, or on an instance for attributes
# set in __init__.
OBSERVED = [
    (App, "_notifications"),  # tests/conftest.toasts
    (App, "_background_screens"),  # tests/conftest.screen_text
    (App, "_display"),  # benchmarks/bench_app.FrameClock
    (App, "_batch_count"),
    (App, "_driver"),  # benchmarks/bench_app.send_key
    (App, "_exception"),
    (Screen, "_compositor"),  # screen_text, render_strips in widget tests
    (Screen, "_refresh_layout"),  # counted by layout tests and bench_app
    (Screen, "_dirty_widgets"),
    (Widget, "_repaint_required"),
    (Widget, "_layout_required"),
    (Widget, "_scroll_required"),
    (Widget, "_message_queue"),
]


@pytest.mark.parametrize("owner,name", OBSERVED, ids=lambda x: getattr(x, "__name__", x))
def test_internals_that_tests_and_benchmarks_observe(owner: type, name: str) -> None:
    if any(name in vars(cls) for cls in owner.__mro__):
        return
    instance = App() if owner is App else Widget()
    if owner is Screen:
        instance = Screen()
    assert hasattr(instance, name), f"{owner.__name__}.{name} is gone"


def test_observed_compositor_and_keys_internals() -> None:
    from textual._compositor import Compositor, CompositorUpdate, LayoutUpdate  # noqa: F401
    from textual.keys import _character_to_key, _get_unicode_name_from_key  # noqa: F401

    for name in ("render_update", "render_strips", "render_full_update", "render_partial_update"):
        assert callable(getattr(Compositor, name)), name


def test_shim_is_importable_without_the_app() -> None:
    """widgets/ may import it: it depends on Textual only."""
    src = Path(SHIM).read_text()
    assert "from tui" not in src and "import tui" not in src
