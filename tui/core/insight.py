"""Insights events: what one says, and the other half of its Start/End pair.

CloudTrail writes an Insights event when a management API's call rate or error rate
leaves its baseline (a Start), and another when it returns (an End); the two share
`sharedEventID`. The facts live in `insightDetails` (see the CloudTrail docs,
"insightDetails element"): rates are API calls (or errors) per minute, durations are
minutes. Read on demand for the one event the detail pane shows, never at ingest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .normalize import NO_TIME, text
from .store import Store

# Parsing a candidate costs a read of its original; a real trail has few Insights
# events per API, and the nearest in time are searched first.
MAX_CANDIDATES = 64


@dataclass(frozen=True, slots=True)
class Attribution:
    """One value that drove the insight (a caller, user agent or error code)."""

    attribute: str  # as CloudTrail names it: userIdentityArn, userAgent, errorCode
    value: str
    average: float | None  # its rate during the insight
    baseline: float | None  # its rate in the baseline (None: not among the baseline's)


@dataclass(frozen=True, slots=True)
class Insight:
    kind: str  # insightType: ApiCallRateInsight | ApiErrorRateInsight
    state: str  # Start | End
    source: str  # the API's service (insightDetails.eventSource)
    name: str  # the API (insightDetails.eventName)
    error: str  # the error code an error-rate insight is about ('' otherwise)
    baseline: float | None  # calls (errors) per minute in the baseline period
    average: float | None  # per minute: the first minute (Start) or the whole insight (End)
    duration: float | None  # minutes (on End events, and on some Starts)
    baseline_duration: float | None  # minutes
    shared_id: str
    attributions: list[Attribution] = field(default_factory=list)

    @property
    def other_state(self) -> str:
        return {"Start": "End", "End": "Start"}.get(self.state, "")


def _d(v: object) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v: object) -> list:
    return v if isinstance(v, list) else []


def _num(v: object) -> float | None:
    """A finite number, else None (lenient files may hold NaN, 1e999, huge ints)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _average(v: object) -> float | None:
    return _num(_d(v).get("average"))


def insight_of(rec: object) -> Insight | None:
    """The Insight a record describes, or None when it has no `insightDetails` object.
    Missing or mistyped parts read as '' / None: the record is evidence, shown as is."""
    d = _d(rec).get("insightDetails") if isinstance(rec, dict) else None
    if not isinstance(d, dict):
        return None
    ctx = _d(d.get("insightContext"))
    stats = _d(ctx.get("statistics"))
    attributions = []
    for a in _list(ctx.get("attributions")):
        a = _d(a)
        base: dict[str, float | None] = {}
        for b in _list(a.get("baseline")):
            b = _d(b)
            base.setdefault(text(b.get("value")), _num(b.get("average")))
        for i in _list(a.get("insight")):
            i = _d(i)
            value = text(i.get("value"))
            attribute = text(a.get("attribute"))
            attributions.append(
                Attribution(attribute, value, _num(i.get("average")), base.get(value))
            )
    return Insight(
        kind=text(d.get("insightType")),
        state=text(d.get("state")),
        source=text(d.get("eventSource")),
        name=text(d.get("eventName")),
        error=text(d.get("errorCode")),
        baseline=_average(stats.get("baseline")),
        average=_average(stats.get("insight")),
        duration=_num(stats.get("insightDuration")),
        baseline_duration=_num(stats.get("baselineDuration")),
        shared_id=text(_d(rec).get("sharedEventID")),
        attributions=attributions,
    )


def paired_row(store: Store, row: int, ins: Insight) -> int | None:
    """The store row of the other half (End for a Start, Start for an End) of the
    insight at `row`: an Insights event about the same API with the same sharedEventID
    and the other state, the nearest in time; None when it is not loaded."""
    if not ins.shared_id or not ins.other_state:
        return None
    mask = store.mask_is("insight")
    for f in ("service", "event", "region", "account"):
        col = store.codes(f)
        mask &= col == col[row]
    mask[row] = False
    rows = np.flatnonzero(mask)
    if not len(rows):
        return None
    t = store.time_ms(row)
    if t != NO_TIME and len(rows) > 1:
        times = store.times[rows]
        rows = rows[np.argsort(np.abs(times - t), kind="stable")]
    for r in rows[:MAX_CANDIDATES].tolist():
        try:
            other = insight_of(store.event(r))
        except Exception:  # a changed or vanished file: not this one
            continue
        if other is None or other.shared_id != ins.shared_id:
            continue
        if other.state == ins.other_state:
            return r
    return None
