"""Run a filter's SQL through the Athena API and keep the events it returns as a local
trail file.

The flow: StartQueryExecution, GetQueryExecution until the state is final (QUEUED,
RUNNING -> SUCCEEDED, FAILED or CANCELLED; an interrupt stops the query with
StopQueryExecution), then GetQueryResults page by page. The query selects the columns
that rebuild each event (sqlgen `select="records"`); `records_from_rows` turns them back
into CloudTrail records (keys spelt as CloudTrail spells them, JSON-text columns parsed),
and `write_trail` stores them as one `{"Records":[...]}` .json.gz in trailscope's cache
folder, never next to a trail, for the explorer, `stats` and `query` to open.

The client is any boto3 Athena client (the caller builds it from the standard credential
chain); nothing here imports boto3.
"""

from __future__ import annotations

import gzip
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from .sqlgen import cost_usd
from .sqlschema import ATHENA_COLUMNS, Column

FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
PAGE_SIZE = 1000  # GetQueryResults' maximum


class AthenaError(RuntimeError):
    """A query that did not succeed (failed, cancelled, refused), with Athena's reason."""


@dataclass
class Execution:
    query_id: str
    state: str
    reason: str
    scanned_bytes: int

    @property
    def cost_usd(self) -> float:
        return cost_usd(self.scanned_bytes)


def _execution(qe: dict) -> Execution:
    status = qe.get("Status") or {}
    stats = qe.get("Statistics") or {}
    return Execution(
        query_id=qe.get("QueryExecutionId", ""),
        state=status.get("State", ""),
        reason=status.get("StateChangeReason")
        or (status.get("AthenaError") or {}).get("ErrorMessage", ""),
        scanned_bytes=int(stats.get("DataScannedInBytes") or 0),
    )


def run_query(
    client,
    sql: str,
    *,
    database: str,
    workgroup: str | None = None,
    output_location: str | None = None,
    catalog: str | None = None,
    poll_s: float = 1.0,
    max_poll_s: float = 5.0,
    on_status: Callable[[Execution], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Start `sql` and wait for its final state. Returns the SUCCEEDED execution; raises
    AthenaError for FAILED or CANCELLED. On KeyboardInterrupt the query is stopped
    (StopQueryExecution) before the interrupt goes on."""
    kw: dict = {"QueryString": sql, "QueryExecutionContext": {"Database": database}}
    if catalog:
        kw["QueryExecutionContext"]["Catalog"] = catalog
    if workgroup:
        kw["WorkGroup"] = workgroup
    if output_location:
        kw["ResultConfiguration"] = {"OutputLocation": output_location}
    qid = client.start_query_execution(**kw)["QueryExecutionId"]
    delay = poll_s
    try:
        while True:
            ex = _execution(client.get_query_execution(QueryExecutionId=qid)["QueryExecution"])
            ex.query_id = ex.query_id or qid
            if on_status is not None:
                on_status(ex)
            if ex.state in FINAL_STATES:
                break
            sleep(delay)
            delay = min(max_poll_s, delay * 1.5)
    except KeyboardInterrupt:
        client.stop_query_execution(QueryExecutionId=qid)
        raise
    if ex.state != "SUCCEEDED":
        why = f": {ex.reason}" if ex.reason else ""
        raise AthenaError(f"query {qid} {ex.state}{why}")
    return ex


def result_rows(client, query_id: str, page_size: int = PAGE_SIZE) -> Iterator[dict]:
    """The result rows as {column: text or None}, page after page (the header row that
    Athena puts first in a SELECT's results is skipped)."""
    token = None
    columns: list[str] | None = None
    first = True
    while True:
        kw = {"QueryExecutionId": query_id, "MaxResults": page_size}
        if token:
            kw["NextToken"] = token
        page = client.get_query_results(**kw)
        rs = page.get("ResultSet") or {}
        if columns is None:
            info = (rs.get("ResultSetMetadata") or {}).get("ColumnInfo") or []
            columns = [c.get("Name") or c.get("Label") or "" for c in info]
        for row in rs.get("Rows") or []:
            cells = [c.get("VarCharValue") for c in row.get("Data") or []]
            if first:
                first = False
                if cells == columns:
                    continue
            yield dict(zip(columns, cells, strict=False))
        token = page.get("NextToken")
        if not token:
            return


# ---------------------------------------------------------------------------- records


def _rebuild(col: Column, value):
    """A struct column's JSON (an object with lower-cased names, or a bare array of
    values from engines that write rows as arrays) with CloudTrail's key spelling."""
    if value is None:
        return None
    if col.kind == "array":
        if not isinstance(value, list):
            return None
        elem = Column(col.name, col.key, "struct", col.fields)
        return [_rebuild(elem, v) for v in value]
    if col.kind in ("struct",):
        if isinstance(value, list):
            value = {f.name: v for f, v in zip(col.fields, value, strict=False)}
        if not isinstance(value, dict):
            return None
        out = {}
        lower = {k.lower(): v for k, v in value.items()}
        for f in col.fields:
            v = _rebuild(f, lower.get(f.name))
            if v is not None:
                out[f.key] = v
        return out or None
    return value


def record_from_row(row: dict, columns: Iterable[Column] = ATHENA_COLUMNS) -> dict:
    """One CloudTrail record from a result row of the records select list."""
    rec: dict = {}
    for c in columns:
        text = row.get(c.name)
        if text is None:
            continue
        if c.kind in ("struct", "array", "json"):
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = text  # kept as Athena gave it
            value = _rebuild(c, value) if c.kind != "json" else value
        elif c.name == "readonly" and text.lower() in ("true", "false"):
            value = text.lower() == "true"
        else:
            value = text
        if value is not None:
            rec[c.key] = value
    return rec


def cache_dir() -> Path:
    """trailscope's folder for query results: $XDG_CACHE_HOME/trailscope/athena."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "trailscope" / "athena"


def write_trail(records: Iterable[dict], path: Path) -> int:
    """Write records as one gzip'd `{"Records":[...]}` file; returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_name(path.name + ".part")
    with gzip.open(tmp, "wb") as out:
        out.write(b'{"Records":[')
        for rec in records:
            if n:
                out.write(b",")
            out.write(orjson.dumps(rec))
            n += 1
        out.write(b"]}")
    tmp.replace(path)
    return n


def fetch_to_trail(client, execution: Execution, folder: Path | None = None) -> tuple[Path, int]:
    """Page through a succeeded query's results into `folder` (default: cache_dir());
    returns the file and the number of events."""
    folder = folder or cache_dir()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", execution.query_id)[:100] or "query"
    path = folder / f"athena-{name}.json.gz"
    n = write_trail((record_from_row(r) for r in result_rows(client, execution.query_id)), path)
    return path, n


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
