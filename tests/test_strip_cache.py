"""widgets/strip_cache.py: renders once per key, evicts the least recently used."""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip

from widgets.strip_cache import StripCache


def test_renders_once_and_evicts_least_recent() -> None:
    calls: list[str] = []

    def render(text: str):
        def go() -> Strip:
            calls.append(text)
            return Strip([Segment(text)])

        return go

    cache = StripCache(2)
    assert cache.get("a", render("a")).text == "a"
    assert cache.get("a", render("a")).text == "a"
    cache.get("b", render("b"))
    cache.get("a", render("a"))  # a is now the most recent
    cache.get("c", render("c"))  # evicts b
    assert len(cache) == 2
    cache.get("a", render("a"))
    cache.get("b", render("b"))
    assert calls == ["a", "b", "c", "b"]
    cache.clear()
    cache.get("a", render("a"))
    assert calls[-1] == "a" and len(cache) == 1
