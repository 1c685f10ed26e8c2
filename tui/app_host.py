"""What the explorer's mixins use from the app they are mixed into, for the type checker.

EvidenceActions (tui/evidence.py), PivotActions (tui/pivots.py) and BackgroundAnalysis
(tui/analysis.py) are parts of TrailscopeApp kept in their own modules. Each takes
`AppHost` as its base class when type checking and `object` at run time:

    if TYPE_CHECKING:
        from .app_host import AppHost
    else:
        AppHost = object

so Textual's own API (notify, push_screen, call_from_thread, workers…) comes typed from
Textual, and this class declares only what TrailscopeApp adds. mypy checks TrailscopeApp
against it: a renamed or retyped attribute, or a missing method, fails `make check`.
At run time nothing imports this module; the mixins stay plain classes.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from textual.app import App

from widgets.event_list import EventList
from widgets.filter_bar import FilterInput

from .core.discovery import Discovery
from .core.query import Query
from .core.s3source import S3Source
from .core.store import Store
from .core.view import View
from .evidence import Evidence
from .main_screen import MainScreen
from .policies import RedrawPacer


class AppHost(App[int]):
    """The TrailscopeApp state and wiring the mixins read (tui/app.py defines it)."""

    paths: list[str]
    source: Discovery | S3Source | None
    jobs: int | None
    store: Store
    query_obj: Query  # the filter
    view: View | None  # what the list shows
    loading: bool
    exporting: bool
    evidence: Evidence
    redraw: RedrawPacer
    main: MainScreen

    @property
    @abstractmethod
    def events_list(self) -> EventList: ...

    @property
    @abstractmethod
    def filter_input(self) -> FilterInput: ...

    @abstractmethod
    def pump(self) -> None: ...

    @abstractmethod
    def request_view(self) -> None: ...

    @abstractmethod
    def set_filter(self, text: str, remember: bool = True) -> bool: ...

    @abstractmethod
    def extend_filter(self, build: Callable[[str], str]) -> None: ...
