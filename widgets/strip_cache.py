"""A small LRU of rendered lines for Line-API widgets: a few screens of strips, so
scrolling back, cursor moves and repaints reuse lines instead of rendering them again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from textual.strip import Strip

__all__ = ["StripCache"]


class StripCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._strips: OrderedDict[Hashable, Strip] = OrderedDict()

    def get(self, key: Hashable, render: Callable[[], Strip]) -> Strip:
        """The strip for `key`, rendered by `render()` the first time it is asked for."""
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = render()
            if len(self._strips) > self.size:
                self._strips.popitem(last=False)
        else:
            self._strips.move_to_end(key)
        return strip

    def clear(self) -> None:
        self._strips.clear()

    def __len__(self) -> int:
        return len(self._strips)
