"""The timeline pane: a histogram of the current filter's events over time.

One terminal column per bucket. Bars are 4 rows of eighth-blocks (32 levels); errors are
their own series on the row under the bars, hanging down from the baseline (` ▔▀█`), so
they read as a mirrored chart even with NO_COLOR. The axis row carries time labels and a
`▲` under the selected event's bucket; the scale row says what one bar means.

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
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.core.normalize import NO_TIME
from tui.core.timeline import (
    NICE_STEPS_MS,
    Histogram,
    axis_labels,
    format_bucket_ms,
    histogram,
    sparkline_levels,
    zoom,
)

from .bindings import bindings
from .messages import TimeRangeRequest

__all__ = ["Timeline"]

_BLOCKS = np.array(list(" ▁▂▃▄▅▆▇█"))
_ERR_GLYPHS = np.array(list(" ▔▀█"))  # hanging from the top: distinct from the bars
_ERR_LEGEND = "▀"
_SEL_MARK = "▲"
BAR_ROWS = 4
_SEP = " · "


def _fmt_time(ms: int, bucket_ms: int) -> str:
    d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S" if bucket_ms < 60_000 else "%Y-%m-%d %H:%M")


def _fmt_short(ms: int, bucket_ms: int) -> str:
    """Compact bucket edge for the range readout (the span piece carries the year)."""
    d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if bucket_ms >= 86_400_000:
        return d.strftime("%Y-%m-%d")
    return d.strftime("%m-%d %H:%M:%S" if bucket_ms < 60_000 else "%m-%d %H:%M")


def _fmt_zoom(z: float) -> str:
    return f"{z:,.0f}x" if z >= 10 else f"{z:.2g}x"


class Timeline(Widget, can_focus=True):
    """Event counts per time bucket, with a cursor bucket, zoom and range marking."""

    # Keys come from the shared action table (help screen and footer agree); the extras
    # below are quicker moves not worth a help line of their own.
    BINDINGS: ClassVar[list[BindingType]] = [
        *bindings("timeline"),
        Binding("shift+left,H", "move(-10)", "10 earlier", show=False),
        Binding("shift+right,L", "move(10)", "10 later", show=False),
        Binding("home", "edge(0)", "First bucket", show=False),
        Binding("end", "edge(-1)", "Last bucket", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--bar",
        "timeline--error",
        "timeline--cursor",
        "timeline--range",
        "timeline--selected",
        "timeline--marker",
        "timeline--axis",
        "timeline--scale",
        "timeline--empty",
    }

    DEFAULT_CSS = """
    Timeline {
        height: 7;
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
        & > .timeline--scale { color: $foreground-muted; }
        & > .timeline--empty { color: $foreground-muted; text-style: italic; }
        &:focus > .timeline--axis { color: $foreground; }
        /* Without colour the range background vanishes: underline it instead. */
        &:nocolor > .timeline--range { text-style: underline; }
    }
    """

    class CursorMoved(Message):
        """The cursor bucket changed: [lo_ms, hi_ms) holds `count` events (`errors` failed)."""

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
        self._times: np.ndarray = np.zeros(0, dtype=np.int64)
        self._errors: np.ndarray | None = None
        self._full: tuple[int, int] | None = None  # [min, max+1) of the valid times
        self._view: tuple[int, int] | None = None  # zoomed range; None = full span
        self._untimed = 0
        self._hist: Histogram | None = None
        self._cursor = 0
        # The cursor and mark are kept as times so re-bucketing (zoom, resize, new data)
        # keeps them on the same instant rather than the same column.
        self._cursor_ms: int | None = None
        self._mark: tuple[int, int] | None = None  # [lo, hi) of the bucket marked
        self._selected_ms: int | None = None
        self._range_count: tuple[tuple[int, int, int], int] | None = None
        self._presorted = False
        self._strips: list[Strip] | None = None  # the lines of render(), drawn
        self._layers: dict[str, Style] = {}  # component styles, until the CSS changes

    # ------------------------------------------------------------------ data in
    def set_data(
        self,
        times_ms: np.ndarray,
        error_mask: np.ndarray | None = None,
        selected_ms: int | None = None,
        *,
        presorted: bool = False,
    ) -> None:
        """Show `times_ms` (unsorted ok; NO_TIME ignored); `error_mask` parallel bools.
        `presorted`: the times are ascending (see `histogram`), which is much faster."""
        times = np.asarray(times_ms, dtype=np.int64)
        errors = None if error_mask is None else np.asarray(error_mask, dtype=bool)
        if errors is not None and errors.shape != times.shape:
            raise ValueError("error_mask must have the same shape as times_ms")
        if presorted and times.size > 1:
            # Trust, but check (~1 ms at 1M): the store orders pre-1970 or far-future
            # times by clipped keys, so hostile times can break the order.
            presorted = bool((times[1:] >= times[:-1]).all())
        self._times, self._errors = times, errors
        self._presorted = presorted
        self._selected_ms = selected_ms
        self._untimed = 0
        self._full = None
        if times.size:
            valid = times
            if presorted:
                valid = times[int(np.searchsorted(times, NO_TIME, side="right")):]
                self._untimed = int(times.size - valid.size)
            elif times.min() == NO_TIME:  # mask only when needed: NO_TIME is the minimum
                valid = times[times != NO_TIME]
                self._untimed = int(times.size - valid.size)
            if valid.size and presorted:
                self._full = (int(valid[0]), int(valid[-1]) + 1)
            elif valid.size:
                self._full = (int(valid.min()), int(valid.max()) + 1)
        self._view = self._clamp_view(self._view)
        self._rebuild()

    def set_selected(self, selected_ms: int | None) -> None:
        """Mark the bucket of the selected event (None: no marker)."""
        if selected_ms != self._selected_ms:
            self._selected_ms = selected_ms
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
    def full_range(self) -> tuple[int, int] | None:
        return self._full

    @property
    def view_range(self) -> tuple[int, int] | None:
        """The requested visible range [lo, hi) (buckets round it outwards)."""
        return self._view or self._full

    @property
    def zoomed(self) -> bool:
        return self._view is not None

    @property
    def zoom_factor(self) -> float:
        if self._view is None or self._full is None:
            return 1.0
        return (self._full[1] - self._full[0]) / (self._view[1] - self._view[0])

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

    # ---------------------------------------------------------------- building
    def _clamp_view(self, view: tuple[int, int] | None) -> tuple[int, int] | None:
        """Keep a zoomed view inside the data; None when it covers all of it."""
        if view is None or self._full is None:
            return None
        flo, fhi = self._full
        lo, hi = view
        if hi - lo >= (fhi - flo) * 0.95:  # rounding in zoom() can leave a sliver
            return None
        if lo < flo:
            lo, hi = flo, flo + (hi - lo)
        elif hi > fhi:
            lo, hi = fhi - (hi - lo), fhi
        return lo, hi

    def _width(self) -> int:
        return self.content_size.width

    def _rebuild(self) -> None:
        """Recompute the histogram for the current data, view and width."""
        width = self._width()
        if self._full is None or width <= 0:
            self._hist = None
            self._cursor = 0
            self._repaint()
            return
        lo, hi = self._view or self._full
        h = histogram(self._times, self._errors, width, lo, hi, presorted=self._presorted)
        self._hist = h
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

    def _cursor_mid(self) -> int:
        assert self._hist is not None
        lo, hi = self._hist.bucket_range(self._cursor)
        return lo + (hi - lo) // 2

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
        self._cursor_ms = self._cursor_mid()
        self._repaint()
        if changed:
            self._post_cursor()

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
        if 0 <= target < h.n or self._view is None or self._full is None:
            self._set_cursor(target)
            return
        # Zoomed and past an edge: pan the view by the overshoot, keeping the bucket size.
        shift = (target - (0 if target < 0 else h.n - 1)) * h.bucket_ms
        lo, hi = self._view
        new_view = self._clamp_view((lo + shift, hi + shift))
        if new_view == self._view:
            self._set_cursor(target)  # already at the data's edge: just clamp
            return
        self._view = new_view
        self._cursor_ms = self._cursor_mid() + delta * h.bucket_ms
        self._rebuild()
        self._post_cursor()

    def action_edge(self, index: int) -> None:
        if self._hist is not None and self._hist.n:
            self._set_cursor(index if index >= 0 else self._hist.n + index)

    def action_zoom_in(self) -> None:
        h = self._hist
        if h is None or not h.n or self._full is None:
            return
        lo, hi = self._view or self._full
        if h.bucket_ms <= NICE_STEPS_MS[0] and hi - lo <= self._width() * NICE_STEPS_MS[0]:
            self.app.bell()  # already one second per column: nothing finer to show
            return
        center = self._cursor_mid()
        self._view = self._clamp_view(zoom(lo, hi, center, 0.5))
        self._cursor_ms = center
        self._rebuild()
        self._post_cursor()

    def action_zoom_out(self) -> None:
        if self._view is None or self._hist is None or not self._hist.n:
            return
        center = self._cursor_mid()
        self._view = self._clamp_view(zoom(*self._view, center, 2.0))
        self._cursor_ms = center
        self._rebuild()
        self._post_cursor()

    def action_zoom_reset(self) -> None:
        if self._view is None:
            return
        if self._hist is not None and self._hist.n:
            self._cursor_ms = self._cursor_mid()
        self._view = None
        self._rebuild()
        self._post_cursor()

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
            msg = "no events" if self._full is None else ""
            if self._untimed:
                msg = f"no event times ({self._untimed:,} events without a time)"
            return Text(msg, style=self._layer("timeline--empty"), no_wrap=True)

        n = h.n
        height = self.content_size.height
        rows = BAR_ROWS if height <= 0 else max(1, min(BAR_ROWS, height - 3))
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
        levels = sparkline_levels(h.counts, rows * 8)
        for r in range(rows):
            fill = np.clip(levels - (rows - 1 - r) * 8, 0, 8)
            plain = "".join(_BLOCKS[fill].tolist())
            lines.append(Text(plain, spans=overlays([Span(0, n, bar)]), no_wrap=True))

        err_plain = "".join(_ERR_GLYPHS[sparkline_levels(h.errors, 3)].tolist())
        lines.append(Text(err_plain, spans=overlays([Span(0, n, err)]), no_wrap=True))
        lines.append(self._axis_line(h, width, sel))
        lines.append(self._scale_line(h, width, rng))
        return Text("\n", no_wrap=True).join(lines)

    def _axis_line(self, h: Histogram, width: int, sel: int | None) -> Text:
        chars = [" "] * width
        # One column per bucket; labels may run on past the last bar into blank space.
        for col, label in axis_labels(h.start_ms, h.bucket_ms, width, width):
            if col >= h.n or (sel is not None and col <= sel < col + len(label)):
                continue  # past the data, or would be cut by the selection marker
            chars[col : col + len(label)] = label
        spans = [Span(0, width, self._layer("timeline--axis"))]
        if sel is not None:
            chars[sel] = _SEL_MARK
            spans.append(Span(sel, sel + 1, self._layer("timeline--marker")))
        return Text("".join(chars), spans=spans, no_wrap=True)

    def _scale_line(self, h: Histogram, width: int, rng: tuple[int, int] | None) -> Text:
        scale = self._layer("timeline--scale")
        total = int(h.counts.sum())
        errors = int(h.errors.sum())
        pieces: list[tuple[int, str, Style]] = []  # (priority, text, style)
        if rng is not None:
            a, b = _fmt_short(rng[0], h.bucket_ms), _fmt_short(rng[1], h.bucket_ms)
            rng_style = self._layer("timeline--range") + Style(bold=True)
            in_rng = self._count_between(*rng)
            pieces.append((0, f"range {a} → {b}: {in_rng:,} events", rng_style))
            pieces.append((8, "enter/space filters, esc clears", scale))
        pieces.append((1, f"bucket {format_bucket_ms(h.bucket_ms)}", scale))
        pieces.append((3, f"max {int(h.counts.max()):,}/bucket", scale))
        pieces.append((6, f"{total:,} events", scale))
        if errors:
            err = self._layer("timeline--error")
            pieces.append((4, f"{_ERR_LEGEND} {errors:,} errors", err))
        span = f"{_fmt_time(h.start_ms, h.bucket_ms)} → {_fmt_time(h.end_ms, h.bucket_ms)} UTC"
        pieces.append((5, span, scale))
        if self._view is not None:
            pieces.append((2, f"zoom {_fmt_zoom(self.zoom_factor)}", scale))
        if self._untimed:
            pieces.append((7, f"{self._untimed:,} without time", scale))
        # Keep the most useful pieces that fit, shown in their natural order.
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
                    out.append(_SEP, style=scale)
                out.append(text, style=style)
        return out

    def _count_between(self, lo: int, hi: int) -> int:
        # Memoised: render runs on every refresh and this scans every event.
        key = (lo, hi, id(self._times))
        if self._range_count is None or self._range_count[0] != key:
            t = self._times
            if self._presorted:
                a, b = np.searchsorted(t, [lo, hi])
                n = int(b - a)
            else:
                n = int(np.count_nonzero((t >= lo) & (t < hi)))
            self._range_count = (key, n)
        return self._range_count[1]
