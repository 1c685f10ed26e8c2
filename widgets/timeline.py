"""The timeline pane: a histogram of the current filter's events over time.

One terminal column per bucket. Three modes (`r`): events per bucket, with errors as their
own series on the row under the bars, hanging down from the baseline (` ▔▀█`) so they read
as a mirrored chart even with NO_COLOR; the error rate per bucket; errors stacked at the
foot of the event bars. The axis row carries time labels, `▲` under the cursor bucket,
`◆` under the selected event's bucket, and at its ends how many events lie outside the
shown range (`◂ 2 earlier`). The readout row says what the cursor bucket holds; the scale
row says what one bar means.

The default range leaves out a few isolated events far from the rest when choosing the
bucket size (tui/core/timebuckets.py); zooming steps the bucket size and keeps the pane
full of bars, centred on the cursor.

The histogram is computed only in `set_data`, on zoom/pan and on resize (numpy, ~10 ms per
1M events); `render` only turns the cached counts into glyphs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
from rich.style import Style
from rich.text import Span, Text
from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.core.normalize import NO_TIME
from tui.core.sanitize import clean
from tui.core.timebuckets import (
    MODES,
    BucketStats,
    core_span,
    level_heights,
    next_at_or_above,
    series,
    step_coarser,
    step_finer,
    zoomed_view,
)
from tui.core.timebuckets import Span as TimeSpan
from tui.core.timeline import (
    Histogram,
    OrderedTimes,
    axis_labels,
    format_bucket_ms,
    histogram,
    sparkline_levels,
)

from .bindings import bindings
from .messages import TimeRangeRequest

__all__ = ["Timeline"]

_BLOCKS = np.array(list(" ▁▂▃▄▅▆▇█"))
_ERR_GLYPHS = np.array(list(" ▔▀█"))  # hanging from the top: distinct from the bars
_ERR_LEGEND = "▀"
_CURSOR_MARK = "▲"
_SEL_MARK = "◆"
BAR_ROWS = 4
_SEP = " · "
_MODE_TITLES = {"count": "events", "rate": "error rate", "stack": "errors on events"}


def _fmt_time(ms: int, bucket_ms: int) -> str:
    d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S" if bucket_ms < 60_000 else "%Y-%m-%d %H:%M")


def _fmt_short(ms: int, bucket_ms: int) -> str:
    """Compact bucket edge for the range readout (the span piece carries the year)."""
    d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if bucket_ms >= 86_400_000:
        return d.strftime("%Y-%m-%d")
    return d.strftime("%m-%d %H:%M:%S" if bucket_ms < 60_000 else "%m-%d %H:%M")


def _fmt_edge(ms: int, bucket_ms: int, prev_ms: int) -> str:
    """A bucket's end after its start `prev_ms`: without the date when on the same day."""
    if bucket_ms < 86_400_000 and ms // 86_400_000 == prev_ms // 86_400_000:
        d = datetime.fromtimestamp(ms / 1000, tz=UTC)
        return d.strftime("%H:%M:%S" if bucket_ms < 60_000 else "%H:%M")
    return _fmt_short(ms, bucket_ms)


def _fmt_zoom(z: float) -> str:
    return f"{z:,.0f}x" if z >= 10 else f"{z:.2g}x"


def _fmt_value(mode: str, v: float) -> str:
    return f"{v:.1%}" if mode == "rate" else f"{v:,.0f}"


def _fit(pieces: list[tuple[int, str, Style]], width: int, sep_style: Style) -> Text:
    """The pieces (priority, text, style) that fit in `width`, most important first,
    shown in their given order."""
    chosen: set[int] = set()
    used = 0
    for i in sorted(range(len(pieces)), key=lambda i: pieces[i][0]):
        extra = len(pieces[i][1]) + (len(_SEP) if chosen else 0)
        if used + extra <= width:
            chosen.add(i)
            used += extra
    out = Text(no_wrap=True)
    for i, (_, text, style) in enumerate(pieces):
        if i in chosen:
            if out.plain:
                out.append(_SEP, style=sep_style)
            out.append(text, style=style)
    return out


class Timeline(Widget, can_focus=True):
    """Event counts per time bucket, with a cursor bucket, zoom and range marking."""

    # Every key comes from the shared action table (help screen, palette and footer agree).
    BINDINGS: ClassVar[list[BindingType]] = bindings("timeline")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--bar",
        "timeline--error",
        "timeline--cursor",
        "timeline--range",
        "timeline--selected",
        "timeline--marker",
        "timeline--axis",
        "timeline--readout",
        "timeline--scale",
        "timeline--empty",
    }

    DEFAULT_CSS = """
    Timeline {
        height: 8;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .timeline--bar { color: $primary; }
        & > .timeline--error { color: $error; }
        & > .timeline--cursor { text-style: reverse; }
        & > .timeline--range { background: $accent 35%; }
        & > .timeline--selected { color: $warning; }
        & > .timeline--marker { color: $warning; text-style: bold; }
        & > .timeline--axis { color: $foreground-muted; }
        & > .timeline--readout { color: $foreground; }
        & > .timeline--scale { color: $foreground-muted; }
        & > .timeline--empty { color: $foreground-muted; text-style: italic; }
        &:focus > .timeline--axis { color: $foreground; }
        /* Without colour the range background vanishes: underline it instead. */
        &:nocolor > .timeline--range { text-style: underline; }
    }
    """

    class CursorMoved(Message):
        """The cursor bucket is [lo_ms, hi_ms), holding `count` events (`errors` failed):
        after a move, a zoom, or new data."""

        def __init__(self, lo_ms: int, hi_ms: int, count: int, errors: int = 0) -> None:
            super().__init__()
            self.lo_ms = lo_ms
            self.hi_ms = hi_ms
            self.count = count
            self.errors = errors

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._times: np.ndarray | OrderedTimes = np.zeros(0, dtype=np.int64)
        self._errors: np.ndarray | None = None
        self._all: tuple[int, int] | None = None  # [min, max+1) of the valid times
        # Views (default, zoomed, panned) stay inside the core: outliers are only counted.
        self._core: TimeSpan | None = None  # the default range, without outliers
        self._view: tuple[int, int] | None = None  # zoomed range; None = default range
        self._view_step = 0  # bucket size while zoomed
        self._untimed = 0
        self._outside = (0, 0)  # timed events before / after the histogram
        self._hist: Histogram | None = None
        self._cursor = 0
        # The cursor and mark are kept as times so re-bucketing (zoom, resize, new data)
        # keeps them on the same instant rather than the same column.
        self._cursor_ms: int | None = None
        self._mark: tuple[int, int] | None = None  # [lo, hi) of the bucket marked
        self._selected_ms: int | None = None
        self._range_count: tuple[tuple[int, int, int], int] | None = None
        self._presorted = False
        self._mode = MODES[0]
        self._threshold: float | None = None  # set by `T`, in the mode's unit
        self._top: tuple[int, int, str, int] | None = None  # (lo, hi, value, count)
        self._strips: list[Strip] | None = None  # the lines of render(), drawn
        self._layers: dict[str, Style] = {}  # component styles, until the CSS changes

    # ------------------------------------------------------------------ data in
    def set_data(
        self,
        times_ms: np.ndarray | OrderedTimes,
        error_mask: np.ndarray | None = None,
        selected_ms: int | None = None,
        *,
        presorted: bool = False,
        ascending: bool = False,
    ) -> None:
        """Show `times_ms` (unsorted ok; NO_TIME ignored); `error_mask` parallel bools.
        `presorted`: the times are ascending (see `histogram`), which is much faster;
        checked unless `ascending` (the caller knows they are)."""
        # A view's times read through its positions (OrderedTimes, ascending) are
        # binary-searched, not taken whole.
        ordered = isinstance(times_ms, OrderedTimes) and presorted and ascending
        times = times_ms if ordered else np.asarray(times_ms, dtype=np.int64)
        errors = None if error_mask is None else np.asarray(error_mask, dtype=bool)
        if errors is not None and errors.shape != times.shape:
            raise ValueError("error_mask must have the same shape as times_ms")
        if presorted and times.size > 1 and not ascending:
            # Trust, but check (~1 ms at 1M): the store orders pre-1970 or far-future
            # times by clipped keys, so hostile times can break the order.
            presorted = bool((times[1:] >= times[:-1]).all())
        self._times, self._errors = times, errors
        self._presorted = presorted
        self._selected_ms = selected_ms
        self._untimed = 0
        self._all = self._core = None
        if times.size:
            if presorted:
                valid = times[int(np.searchsorted(times, NO_TIME, side="right")) :]
            else:  # only the ends matter for the range: sorting is the simple way there
                t = np.asarray(times)
                valid = np.sort(t[t != NO_TIME] if t.min() == NO_TIME else t)
            self._untimed = int(times.size - valid.size)
            if valid.size:
                self._all = (int(valid[0]), int(valid[-1]) + 1)
                self._core = core_span(valid)
        self._view = self._replace_view()
        self._rebuild()
        self._post_cursor()  # the bucket's figures (and its top principal) may have changed

    def set_selected(self, selected_ms: int | None) -> None:
        """Mark the bucket of the selected event (None: no marker)."""
        if selected_ms != self._selected_ms:
            self._selected_ms = selected_ms
            self._repaint()

    def show_top(self, lo_ms: int, hi_ms: int, value: str | None, count: int = 0) -> None:
        """The most frequent principal in [lo_ms, hi_ms) (shown while that is the cursor
        bucket); the screen answers CursorMoved with it."""
        top = None if value is None else (lo_ms, hi_ms, value, count)
        if top != self._top:
            self._top = top
            self._repaint()

    # ------------------------------------------------------------- read access
    @property
    def hist(self) -> Histogram | None:
        """The histogram on screen (None when there is nothing to show)."""
        return self._hist

    @property
    def cursor(self) -> int:
        """Index of the cursor bucket."""
        return self._cursor

    @property
    def mode(self) -> str:
        """What the bars plot: one of MODES."""
        return self._mode

    @property
    def full_range(self) -> tuple[int, int] | None:
        """The default range [lo, hi): every timed event but isolated outliers."""
        return None if self._core is None else (self._core.lo, self._core.hi)

    @property
    def outliers(self) -> tuple[int, int]:
        """Events left out of the default range: (earlier, later)."""
        return (0, 0) if self._core is None else (self._core.earlier, self._core.later)

    @property
    def outside(self) -> tuple[int, int]:
        """Timed events before and after the buckets on screen."""
        return self._outside

    @property
    def view_range(self) -> tuple[int, int] | None:
        """The requested visible range [lo, hi) (buckets round it outwards)."""
        return self._view or self.full_range

    @property
    def zoomed(self) -> bool:
        return self._view is not None

    @property
    def zoom_factor(self) -> float:
        full = self.full_range
        if self._view is None or full is None:
            return 1.0
        return (full[1] - full[0]) / (self._view[1] - self._view[0])

    def cursor_range(self) -> tuple[int, int] | None:
        """[lo, hi) of the cursor bucket."""
        if self._hist is None or not self._hist.n:
            return None
        return self._hist.bucket_range(self._cursor)

    def marked_range(self) -> tuple[int, int] | None:
        """[lo, hi) from the marked bucket to the cursor bucket, or None without a mark."""
        cur = self.cursor_range()
        if self._mark is None or cur is None:
            return None
        return min(self._mark[0], cur[0]), max(self._mark[1], cur[1])

    def readout(self) -> str:
        """The cursor bucket's readout line as plain text (what the pane shows)."""
        h = self._hist
        if h is None or not h.n:
            return ""
        return self._readout_line(h, max(1, self._width()), None).plain

    # ---------------------------------------------------------------- building
    def _zoomed(self, center_ms: int, step: int) -> tuple[int, int] | None:
        """A view of `step` buckets filling the pane around `center_ms`; None when such
        buckets would cover the whole default range anyway."""
        core, width = self._core, self._width()
        if core is None or width <= 0:
            return None
        if width * step >= core.hi - core.lo:
            return None
        self._view_step = step
        return zoomed_view(center_ms, step, width, (core.lo, core.hi))

    def _replace_view(self) -> tuple[int, int] | None:
        """The zoomed view again for new data or a new width (same bucket size, same
        middle), or None when it no longer narrows anything."""
        if self._view is None:
            return None
        lo, hi = self._view
        step = self._view_step
        return self._zoomed(lo + (hi - lo) // 2, step)

    def _width(self) -> int:
        return self.content_size.width

    def _rebuild(self) -> None:
        """Recompute the histogram for the current data, view and width."""
        width = self._width()
        if self._core is None or width <= 0:
            self._hist = None
            self._cursor = 0
            self._outside = (0, 0)
            self._repaint()
            return
        if self._view is None:
            lo, hi, step = self._core.lo, self._core.hi, None
        else:
            (lo, hi), step = self._view, self._view_step
        h = histogram(self._times, self._errors, width, lo, hi, step, presorted=self._presorted)
        self._hist = h
        self._outside = self._count_outside(h.start_ms, h.end_ms)
        if self._cursor_ms is None:
            sel = None if self._selected_ms is None else h.bucket_of(self._selected_ms)
            self._cursor = h.n - 1 if sel is None else sel
        else:
            b = h.bucket_of(self._cursor_ms)
            if b is None:
                b = 0 if self._cursor_ms < h.start_ms else h.n - 1
                self._cursor_ms = None  # clamped: follow the column from now on
            self._cursor = int(b)
        self._repaint()

    def _count_outside(self, lo: int, hi: int) -> tuple[int, int]:
        t = self._times
        if self._presorted:
            first = int(np.searchsorted(t, NO_TIME, side="right"))
            a, b = (int(x) for x in np.searchsorted(t, [lo, hi]))
            return max(0, a - first), int(t.size - b)
        t = np.asarray(t)  # (an array unless presorted)
        before = int(np.count_nonzero(t < lo)) - self._untimed  # NO_TIME is the minimum
        return max(0, before), int(np.count_nonzero(t >= hi))

    def _cursor_mid(self) -> int:
        assert self._hist is not None
        lo, hi = self._hist.bucket_range(self._cursor)
        return lo + (hi - lo) // 2

    def _cursor_at(self) -> int:
        """The instant the cursor stands for: where it was put, while that is in its
        bucket, else the bucket's start (so zooming in at the first bucket stays there)."""
        assert self._hist is not None
        lo, hi = self._hist.bucket_range(self._cursor)
        at = self._cursor_ms
        return at if at is not None and lo <= at < hi else lo

    def _post_cursor(self) -> None:
        h = self._hist
        if h is None or not h.n:
            return
        lo, hi = h.bucket_range(self._cursor)
        self.post_message(
            self.CursorMoved(lo, hi, int(h.counts[self._cursor]), int(h.errors[self._cursor]))
        )

    def _set_cursor(self, index: int) -> None:
        assert self._hist is not None
        index = max(0, min(self._hist.n - 1, index))
        changed = index != self._cursor
        self._cursor = index
        self._cursor_ms = self._hist.bucket_range(index)[0]
        self._repaint()
        if changed:
            self._post_cursor()

    def _series(self) -> np.ndarray:
        assert self._hist is not None
        return series(self._mode, self._hist.counts, self._hist.errors)

    def _threshold_now(self, values: np.ndarray) -> float:
        """The user's threshold, else half the highest bucket."""
        if self._threshold is not None:
            return self._threshold
        return float(values.max()) / 2 if values.size else 0.0

    # ----------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_mark":
            return self._mark is not None  # otherwise let escape reach the screen
        if action in ("zoom_out", "zoom_reset"):
            return True if self._view is not None else None
        return True

    def action_cursor_left(self) -> None:
        self.action_move(-1)

    def action_cursor_right(self) -> None:
        self.action_move(1)

    def action_move(self, delta: int) -> None:
        h = self._hist
        if h is None or not h.n:
            return
        target = self._cursor + delta
        if 0 <= target < h.n or self._view is None:
            self._set_cursor(target)
            return
        # Zoomed and past an edge: pan the view by the overshoot, keeping the bucket size.
        shift = (target - (0 if target < 0 else h.n - 1)) * h.bucket_ms
        self._pan(shift, self._cursor_mid() + delta * h.bucket_ms, target)

    def _pan(self, shift: int, cursor_ms: int, fallback: int) -> None:
        """Move the zoomed view by `shift` ms and the cursor to `cursor_ms`; at the data's
        edge the view stays and the cursor goes to column `fallback` (clamped)."""
        assert self._view is not None and self._core is not None
        lo, hi = self._view
        step = self._view_step
        new_view = zoomed_view(
            lo + shift + (self._width() // 2) * step,
            step,
            self._width(),
            (self._core.lo, self._core.hi),
        )
        if new_view == self._view:
            self._set_cursor(fallback)
            return
        self._view = new_view
        self._cursor_ms = cursor_ms
        self._rebuild()
        self._post_cursor()

    def action_page(self, direction: int) -> None:
        """A screen of buckets on (as `less` pages): zoomed, the view pans by its width
        and the cursor keeps its column; otherwise the cursor goes to the edge."""
        h = self._hist
        if h is None or not h.n:
            return
        if self._view is None:
            self._set_cursor(self._cursor + direction * h.n)
            return
        shift = direction * h.n * h.bucket_ms
        self._pan(shift, self._cursor_mid() + shift, self._cursor + direction * h.n)

    def action_edge(self, index: int) -> None:
        """The first (0) or last (-1) bucket of the default range, panning a zoomed view
        there."""
        h = self._hist
        if h is None or not h.n:
            return
        if self._view is not None and self._core is not None:
            core = (self._core.lo, self._core.hi)
            t = core[0] if index >= 0 else core[1] - 1
            self._view = zoomed_view(t, self._view_step, self._width(), core)
            self._cursor_ms = t
            self._rebuild()
            self._post_cursor()
            return
        self._set_cursor(index if index >= 0 else h.n + index)

    def action_zoom_in(self) -> None:
        h = self._hist
        if h is None or not h.n or self._core is None:
            return
        step = step_finer(h.bucket_ms)
        if step is None:
            self.app.bell()  # already one second per column: nothing finer to show
            return
        center = self._cursor_at()
        self._view = self._zoomed(center, step)
        self._cursor_ms = center
        self._rebuild()
        self._post_cursor()

    def action_zoom_out(self) -> None:
        if self._view is None or self._hist is None or not self._hist.n:
            return
        center = self._cursor_at()
        self._view = self._zoomed(center, step_coarser(self._view_step))
        self._cursor_ms = center
        self._rebuild()
        self._post_cursor()

    def action_zoom_reset(self) -> None:
        if self._view is None:
            return
        if self._hist is not None and self._hist.n:
            self._cursor_ms = self._cursor_at()
        self._view = None
        self._rebuild()
        self._post_cursor()

    def action_cycle_mode(self) -> None:
        """Events -> error rate -> errors stacked on events -> events."""
        self._mode = MODES[(MODES.index(self._mode) + 1) % len(MODES)]
        self._threshold = None  # a threshold is in the mode's unit
        self._repaint()

    def action_peak(self) -> None:
        """The cursor to the highest bucket on screen (of what the mode plots)."""
        if self._hist is None or not self._hist.n:
            return
        values = self._series()
        if values.max() <= 0:
            self.app.bell()
            return
        self._set_cursor(int(np.argmax(values)))

    def action_next_above(self, direction: int) -> None:
        """The cursor to the next bucket on screen at or above the threshold."""
        if self._hist is None or not self._hist.n:
            return
        values = self._series()
        hit = next_at_or_above(values, self._cursor, self._threshold_now(values), direction)
        if hit is None:
            self.app.bell()
            return
        self._set_cursor(hit)

    def action_set_threshold(self) -> None:
        """The cursor bucket's value becomes the threshold (an empty bucket resets it)."""
        if self._hist is None or not self._hist.n:
            return
        v = float(self._series()[self._cursor])
        self._threshold = v if v > 0 else None
        self._repaint()

    def action_mark(self) -> None:
        """Start a range at the cursor bucket; a second press ends it (filters to it)."""
        if self._mark is not None:
            self.action_apply()
            return
        cur = self.cursor_range()
        if cur is not None:
            self._mark = cur
            self._repaint()
            self.refresh_bindings()

    def action_clear_mark(self) -> None:
        self._mark = None
        self._repaint()
        self.refresh_bindings()

    def action_apply(self) -> None:
        """Ask the app to restrict the filter to the marked range or the cursor bucket."""
        rng = self.marked_range() or self.cursor_range()
        if rng is None:
            return
        if self._mark is not None:
            self._mark = None
            self._repaint()
            self.refresh_bindings()
        self.post_message(TimeRangeRequest(rng[0], rng[1]))

    # ------------------------------------------------------------------ events
    def on_resize(self, event: events.Resize) -> None:
        self._view = self._replace_view()  # a zoomed view keeps filling the pane
        self._rebuild()

    def on_click(self, event: events.Click) -> None:
        h = self._hist
        offset = event.get_content_offset(self)
        if h is None or offset is None or not 0 <= offset.x < h.n:
            return
        self._set_cursor(offset.x)

    # --------------------------------------------------------------- rendering
    def _repaint(self) -> None:
        self._strips = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = None
        self._layers.clear()

    def render_line(self, y: int) -> Strip:
        # Line API over render()'s Text: Textual's generic path (Text -> Content ->
        # wrapped lines) measured 3.6-7.3 ms for these 7 lines; rendering each line's
        # segments once per change is ~10x less, and the timeline repaints on every
        # list move (the selected-event marker).
        width = self.content_size.width
        strips = self._strips
        if strips is None or (strips and strips[0].cell_length != width):
            base = self.rich_style
            console = self.app.console
            strips = self._strips = [
                Strip(list(line.render(console))).crop_extend(0, width, base).apply_style(base)
                for line in self.render().split("\n", allow_blank=True)
            ]
        return strips[y] if y < len(strips) else Strip.blank(width, self.rich_style)

    def _layer(self, name: str) -> Style:
        """A component's own style, with colours resolved against the widget background.

        Partial styles keep only what the component sets (so a range background can sit
        under the bar colour) but drop alpha; the full style has the blended colours.
        Kept until the CSS changes: resolving them was ~40% of drawing the pane, which
        is redrawn with every filter and every list move (the selected-event marker).
        """
        style = self._layers.get(name)
        if style is None:
            part = self.get_component_rich_style(name, partial=True)
            full = self.get_component_rich_style(name)
            style = self._layers[name] = part + Style(
                color=full.color if part.color else None,
                bgcolor=full.bgcolor if part.bgcolor else None,
            )
        return style

    def render(self) -> Text:
        h = self._hist
        width = self._width()
        if h is None or not h.n or width <= 0:
            msg = "no events" if self._all is None else ""
            if self._untimed and self._all is None:
                msg = f"no event times ({self._untimed:,} events without a time)"
            return Text(msg, style=self._layer("timeline--empty"), no_wrap=True)

        n = h.n
        height = self.content_size.height
        counting = self._mode == "count"
        under = 1 if counting else 0  # the error row
        info = 3  # axis, readout, scale
        if height > 0 and height - under - info < 1:
            info = 2  # no room: the scale's figures join the readout
        max_rows = BAR_ROWS + (0 if counting else 1)
        rows = max_rows if height <= 0 else max(1, min(max_rows, height - under - info))
        bar = self._layer("timeline--bar")
        err = self._layer("timeline--error")
        cursor_style = self._layer("timeline--cursor")
        range_style = self._layer("timeline--range")
        selected_style = self._layer("timeline--selected")

        sel = None if self._selected_ms is None else h.bucket_of(self._selected_ms)
        rng = self.marked_range()
        rng_cols: tuple[int, int] | None = None
        if rng is not None:
            a = max(0, (rng[0] - h.start_ms) // h.bucket_ms)
            b = min(n, -(-(rng[1] - h.start_ms) // h.bucket_ms))
            if a < b:
                rng_cols = (int(a), int(b))

        def overlays(spans: list[Span]) -> list[Span]:
            # Later spans win: range under the selected colour under the cursor.
            if rng_cols is not None:
                spans.append(Span(rng_cols[0], rng_cols[1], range_style))
            if sel is not None:
                spans.append(Span(sel, sel + 1, selected_style))
            spans.append(Span(self._cursor, self._cursor + 1, cursor_style))
            return spans

        lines: list[Text] = []
        top_levels = rows * 8
        if self._mode == "rate":
            levels = err_levels = level_heights(self._series(), top_levels)
        else:
            levels = sparkline_levels(h.counts, top_levels)
            # Stacked: errors on the same scale as events, at the foot of each bar.
            err_levels = level_heights(
                h.errors.astype(np.float64), top_levels, top=float(h.counts.max())
            )
        for r in range(rows):
            floor = (rows - 1 - r) * 8
            fill = np.clip(levels - floor, 0, 8)
            plain = "".join(_BLOCKS[fill].tolist())
            if self._mode == "count":
                base = [Span(0, n, bar)]
            elif self._mode == "rate":
                base = [Span(0, n, err)]
            else:  # a cell is drawn as an error when the error part reaches into it
                base = [Span(0, n, bar)] + [Span(a, b, err) for a, b in _runs(err_levels > floor)]
            lines.append(Text(plain, spans=overlays(base), no_wrap=True))

        if counting:
            err_plain = "".join(_ERR_GLYPHS[sparkline_levels(h.errors, 3)].tolist())
            lines.append(Text(err_plain, spans=overlays([Span(0, n, err)]), no_wrap=True))
        lines.append(self._axis_line(h, width, sel))
        scale = self._scale_pieces(h, rng)
        if info == 3:
            readout = self._readout_line(h, width, None)
            lines.append(readout)
            lo, hi = h.bucket_range(self._cursor)
            top = None if "top " in readout.plain else self._top_text(lo, hi, width)
            if top is not None:  # no room beside the figures: first on the scale row
                scale.insert(0, (0, top, self._layer("timeline--readout")))
            lines.append(_fit(scale, width, self._layer("timeline--scale")))
        else:
            lines.append(self._readout_line(h, width, scale))
        return Text("\n", no_wrap=True).join(lines)

    def _axis_line(self, h: Histogram, width: int, sel: int | None) -> Text:
        chars = [" "] * width
        axis = self._layer("timeline--axis")
        marker = self._layer("timeline--marker")
        spans = [Span(0, width, axis)]
        # Events outside the buckets shown, at the ends of the axis.
        before, after = self._outside
        left = f"◂ {before:,} earlier " if before else ""
        right = f" {after:,} later ▸" if after else ""
        marks = [self._cursor] + ([sel] if sel is not None else [])
        # The counts step aside for the markers at the very ends of the axis.
        l0 = max([m + 1 for m in marks if m < len(left)], default=0)
        r1 = min([m for m in marks if m >= width - len(right)], default=width)
        if l0 + len(left) > r1 - len(right):
            left = right = ""
        free_lo, free_hi = l0 + len(left), r1 - len(right)
        # One column per bucket; labels may run on past the last bar into blank space.
        for col, label in axis_labels(h.start_ms, h.bucket_ms, width, width):
            end = col + len(label)
            if col >= h.n or col < free_lo or end > free_hi:
                continue  # past the data, or under the outside counts
            if any(col <= k < end for k in marks):
                continue  # would be cut by a marker
            chars[col:end] = label
        if left:
            chars[l0 : l0 + len(left)] = left
            spans.append(Span(l0, l0 + len(left.rstrip()), marker))
        if right:
            chars[r1 - len(right) : r1] = right
            spans.append(Span(r1 - len(right) + 1, r1, marker))
        if sel is not None and sel < width:
            chars[sel] = _SEL_MARK
            spans.append(Span(sel, sel + 1, marker))
        if self._cursor < width:
            chars[self._cursor] = _CURSOR_MARK
            spans.append(Span(self._cursor, self._cursor + 1, self._layer("timeline--cursor")))
        return Text("".join(chars), spans=spans, no_wrap=True)

    def _readout_line(
        self, h: Histogram, width: int, extra: list[tuple[int, str, Style]] | None
    ) -> Text:
        """What the cursor bucket holds: its range, events, errors and error rate, and
        the top principal (from the screen); `extra` pieces fill what room is left."""
        lo, hi = h.bucket_range(self._cursor)
        stats = BucketStats(lo, hi, int(h.counts[self._cursor]), int(h.errors[self._cursor]))
        style = self._layer("timeline--readout")
        err = self._layer("timeline--error")
        head = f"{_CURSOR_MARK} {_fmt_short(lo, h.bucket_ms)}–{_fmt_edge(hi, h.bucket_ms, lo)}"
        pieces: list[tuple[int, str, Style]] = [
            (0, head, style + Style(bold=True)),
            (0, f"{stats.events:,} events", style),
        ]
        if stats.events:
            pieces.append(
                (1, f"{stats.errors:,} errors ({stats.rate:.1%})", err if stats.errors else style)
            )
        used = sum(len(p[1]) + len(_SEP) for p in pieces)
        top = self._top_text(lo, hi, width - used)
        if top is not None:
            pieces.append((2, top, style))
        extra_pieces = [(p + 10, t, s) for p, t, s in extra or []]
        return _fit(pieces + extra_pieces, width, self._layer("timeline--scale"))

    def _top_text(self, lo: int, hi: int, room: int) -> str | None:
        """ "top <principal> (<events>)" for bucket [lo, hi) in `room` cells, the value cut
        from the left (the end of an ARN tells principals apart); None when unknown or
        with no room for at least 8 cells of it."""
        top = self._top
        if top is None or (top[0], top[1]) != (lo, hi):
            return None
        count = f" ({top[3]:,})"
        room -= len("top ") + len(count)
        if room < 8:
            return None
        value = clean(top[2])
        if len(value) > room:
            value = "…" + value[-(room - 1) :]
        return f"top {value}{count}"

    def _scale_pieces(
        self, h: Histogram, rng: tuple[int, int] | None
    ) -> list[tuple[int, str, Style]]:
        scale = self._layer("timeline--scale")
        total = int(h.counts.sum())
        errors = int(h.errors.sum())
        pieces: list[tuple[int, str, Style]] = []  # (priority, text, style)
        if rng is not None:
            a, b = _fmt_short(rng[0], h.bucket_ms), _fmt_short(rng[1], h.bucket_ms)
            rng_style = self._layer("timeline--range") + Style(bold=True)
            in_rng = self._count_between(*rng)
            pieces.append((0, f"range {a} → {b}: {in_rng:,} events", rng_style))
            pieces.append((9, "enter/space filters, esc clears", scale))
        if self._mode != "count":
            pieces.append((1, _MODE_TITLES[self._mode], scale + Style(bold=True)))
        pieces.append((1, f"bucket {format_bucket_ms(h.bucket_ms)}", scale))
        values = self._series()
        unit = {"count": "/bucket", "rate": " errors", "stack": " errors/bucket"}[self._mode]
        pieces.append((3, f"max {_fmt_value(self._mode, float(values.max()))}{unit}", scale))
        if self._threshold is not None:
            pieces.append((2, f"threshold ≥ {_fmt_value(self._mode, self._threshold)}", scale))
        pieces.append((7, f"{total:,} events", scale))
        if errors:
            err = self._layer("timeline--error")
            legend = _ERR_LEGEND if self._mode == "count" else "█"
            pieces.append((5, f"{legend} {errors:,} errors", err))
        span = f"{_fmt_time(h.start_ms, h.bucket_ms)} → {_fmt_time(h.end_ms, h.bucket_ms)} UTC"
        pieces.append((6, span, scale))
        if self._view is not None:
            pieces.append((2, f"zoom {_fmt_zoom(self.zoom_factor)}", scale))
        if self._untimed:
            pieces.append((8, f"{self._untimed:,} without time", scale))
        return pieces

    def _count_between(self, lo: int, hi: int) -> int:
        # Memoised: render runs on every refresh and this scans every event.
        key = (lo, hi, id(self._times))
        if self._range_count is None or self._range_count[0] != key:
            t = self._times
            if self._presorted:
                a, b = np.searchsorted(t, [lo, hi])
                n = int(b - a)
            else:
                t = np.asarray(t)  # (an array unless presorted)
                n = int(np.count_nonzero((t >= lo) & (t < hi)))
            self._range_count = (key, n)
        return self._range_count[1]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in `mask`."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
