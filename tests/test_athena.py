"""The Athena flow (start, poll, page, fail, cancel) against a real Athena API on
localhost: moto's server mode, started here, with boto3 talking HTTP to it.

moto runs no SQL: each query returns the rows queued for it through moto's API
(/moto-api/static/athena/query-results). Two things Athena does that moto does not are
taught to the server by the fixture: paging GetQueryResults (MaxResults, NextToken) and
reporting DataScannedInBytes. States are driven through moto's state manager (manual
progression: QUEUED and RUNNING for a few polls) and, for FAILED, its backend.
"""

from __future__ import annotations

import gzip
import json

import orjson
import pytest

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")
requests = pytest.importorskip("requests")

from moto.athena import responses as athena_responses  # noqa: E402
from moto.athena.models import athena_backends  # noqa: E402

from tui.cli import main  # noqa: E402
from tui.core import athena  # noqa: E402
from tui.core.query import parse  # noqa: E402
from tui.core.sqlgen import to_sql  # noqa: E402
from tui.core.sqlschema import ATHENA_COLUMNS  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
SCANNED: dict[str, int] = {}


def _paging_results(self):
    """GetQueryResults as Athena pages it: at most MaxResults rows, then a NextToken."""
    exec_id = self._get_param("QueryExecutionId")
    size = int(self._get_param("MaxResults") or 1000)
    start = int(self._get_param("NextToken") or 0)
    whole = self.athena_backend.get_query_results(exec_id).to_dict()
    rows = whole["ResultSet"]["Rows"]
    whole["ResultSet"]["Rows"] = rows[start : start + size]
    if start + size < len(rows):
        whole["NextToken"] = str(start + size)
    return json.dumps(whole)


def _scanned_execution(self, _orig=athena_responses.AthenaResponse.get_query_execution):
    out = json.loads(_orig(self))
    qid = out["QueryExecution"]["QueryExecutionId"]
    out["QueryExecution"]["Statistics"]["DataScannedInBytes"] = SCANNED.get("bytes", 0)
    ex = self.athena_backend.executions.get(qid)
    if ex is not None and getattr(ex, "reason", None):
        out["QueryExecution"]["Status"]["StateChangeReason"] = ex.reason
    return json.dumps(out)


@pytest.fixture(scope="module")
def server():
    mp = pytest.MonkeyPatch()
    mp.setattr(athena_responses.AthenaResponse, "get_query_results", _paging_results)
    mp.setattr(athena_responses.AthenaResponse, "get_query_execution", _scanned_execution)
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    yield f"http://{host}:{port}"
    srv.stop()
    mp.undo()


@pytest.fixture
def aws(server, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    requests.post(f"{server}/moto-api/reset")
    SCANNED.clear()
    _progression(server, {"progression": "immediate"})
    client = boto3.client("athena", region_name=REGION, endpoint_url=server)
    client.create_work_group(
        Name="ir", Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/ir/"}}
    )
    return server, client


def _progression(server: str, transition: dict) -> None:
    r = requests.post(
        f"{server}/moto-api/state-manager/set-transition",
        data=json.dumps({"model_name": "athena::execution", "transition": transition}),
    )
    assert r.status_code == 201


def _queue_results(server: str, rows: list[list[str | None]], names: list[str]) -> None:
    def cells(values):
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}

    body = {
        "account_id": ACCOUNT,
        "region": REGION,
        "results": [
            {
                "rows": [cells(names)] + [cells(r) for r in rows],
                "column_info": [{"Name": n, "Label": n, "Type": "varchar"} for n in names],
            }
        ],
    }
    r = requests.post(f"{server}/moto-api/static/athena/query-results", json=body)
    assert r.status_code == 201


NAMES = [c.name for c in ATHENA_COLUMNS]


def _row(i: int, **over) -> list[str | None]:
    """One result row as Athena returns the records select list: strings, and structs
    as JSON (lower-cased names)."""
    values = {
        "eventversion": "1.08",
        "useridentity": json.dumps(
            {
                "type": "IAMUser",
                "arn": f"arn:aws:iam::{ACCOUNT}:user/u{i}",
                "accountid": ACCOUNT,
                "accesskeyid": "AKIAEXAMPLE",
                "username": f"u{i}",
                "principalid": None,
                "sessioncontext": None,
            }
        ),
        "eventtime": f"2026-11-20T10:{i // 60:02d}:{i % 60:02d}Z",
        "eventsource": "s3.amazonaws.com",
        "eventname": "GetObject",
        "awsregion": REGION,
        "sourceipaddress": "203.0.113.9",
        "requestparameters": json.dumps({"bucketName": "prod", "key": f"k{i}"}),
        "eventid": f"athena-{i:04d}",
        "readonly": "true",
        "resources": json.dumps(
            [{"arn": "arn:aws:s3:::prod", "accountid": ACCOUNT, "type": "AWS::S3::Bucket"}]
        ),
        "eventtype": "AwsApiCall",
        "recipientaccountid": ACCOUNT,
    }
    values.update(over)
    return [values.get(n) for n in NAMES]


def test_start_poll_page_and_rebuild_events(aws, tmp_path):
    server, client = aws
    _progression(server, {"progression": "manual", "times": 2})
    rows = [_row(i) for i in range(2500)]
    rows[7] = _row(
        7,
        errormessage="evil\x1b]52;c;AAAA\x07",
        useridentity=json.dumps(
            [
                "AssumedRole",
                "AROA:x",
                "arn:aws:sts::1:assumed-role/r/x",
                ACCOUNT,
                None,
                None,
                None,
                None,
                None,
            ]
        ),
    )
    _queue_results(server, rows, NAMES)
    SCANNED["bytes"] = 3 * 1024**3
    states: list[str] = []
    sql = to_sql(parse("service:s3* since:2026-11-20"), "athena", now_ms=0, select="records").sql
    ex = athena.run_query(
        client,
        sql,
        database="trails",
        workgroup="ir",
        poll_s=0.0,
        on_status=lambda e: states.append(e.state),
        sleep=lambda s: None,
    )
    assert states[0] == "QUEUED" and "RUNNING" in states and states[-1] == "SUCCEEDED"
    assert ex.scanned_bytes == 3 * 1024**3
    assert ex.cost_usd == pytest.approx(3 / 1024 * 5)
    sent = client.get_query_execution(QueryExecutionId=ex.query_id)["QueryExecution"]
    assert sent["Query"] == sql and sent["WorkGroup"] == "ir"
    pages = []
    orig = client.get_query_results

    def counting(**kw):
        pages.append(kw.get("NextToken"))
        return orig(**kw)

    client.get_query_results = counting
    path, n = athena.fetch_to_trail(client, ex, tmp_path / "out")
    assert n == 2500 and len(pages) == 3  # 2501 rows with the header, 1000 a page
    recs = orjson.loads(gzip.decompress(path.read_bytes()))["Records"]
    assert [r["eventID"] for r in recs] == [f"athena-{i:04d}" for i in range(2500)]
    r0 = recs[0]
    assert r0["userIdentity"] == {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/u0",
        "accountId": ACCOUNT,
        "accessKeyId": "AKIAEXAMPLE",
        "userName": "u0",
    }
    assert r0["requestParameters"] == {"bucketName": "prod", "key": "k0"}
    assert r0["readOnly"] is True and r0["sourceIPAddress"] == "203.0.113.9"
    assert r0["resources"] == [
        {"ARN": "arn:aws:s3:::prod", "accountId": ACCOUNT, "type": "AWS::S3::Bucket"}
    ]
    # A struct written as a bare array (Presto's row-to-JSON) is read by position.
    assert recs[7]["userIdentity"]["type"] == "AssumedRole"
    assert recs[7]["errorMessage"] == "evil\x1b]52;c;AAAA\x07"


def test_failed_query_says_why(aws):
    server, client = aws
    _progression(server, {"progression": "manual", "times": 3})

    def fail(ex):
        if ex.state in ("QUEUED", "RUNNING"):
            backend = athena_backends[ACCOUNT][REGION]
            backend.executions[ex.query_id].status = "FAILED"
            backend.executions[ex.query_id].reason = "COLUMN_NOT_FOUND: line 1: eventcategory"

    with pytest.raises(athena.AthenaError, match="FAILED: COLUMN_NOT_FOUND"):
        athena.run_query(
            client,
            "SELECT 1",
            database="trails",
            workgroup="ir",
            poll_s=0,
            on_status=fail,
            sleep=lambda s: None,
        )


def test_interrupt_stops_the_query(aws):
    server, client = aws
    _progression(server, {"progression": "manual", "times": 100})
    seen = []

    def interrupt(delay):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        athena.run_query(
            client,
            "SELECT 1",
            database="trails",
            workgroup="ir",
            poll_s=0,
            on_status=lambda e: seen.append(e.query_id),
            sleep=interrupt,
        )
    state = client.get_query_execution(QueryExecutionId=seen[0])["QueryExecution"]["Status"]
    assert state["State"] == "CANCELLED"


def test_cancelled_elsewhere_is_an_error(aws):
    server, client = aws
    _progression(server, {"progression": "manual", "times": 100})

    def cancel(ex):
        client.stop_query_execution(QueryExecutionId=ex.query_id)

    with pytest.raises(athena.AthenaError, match="CANCELLED"):
        athena.run_query(
            client,
            "SELECT 1",
            database="trails",
            workgroup="ir",
            poll_s=0,
            on_status=cancel,
            sleep=lambda s: None,
        )


def test_cli_runs_athena_and_prints_like_query(aws, capfd, tmp_path):
    server, client = aws
    _queue_results(server, [_row(i) for i in range(3)], NAMES)
    SCANNED["bytes"] = 123_456_789
    rc = main(
        [
            "athena",
            "--database",
            "trails",
            "--workgroup",
            "ir",
            "--region",
            REGION,
            "-e",
            "event:GetObject since:2026-11-20",
            "--format",
            "jsonl",
            "--poll-seconds",
            "0",
        ]
    )
    out, err = capfd.readouterr()
    assert rc == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["eventID"] for e in events] == ["athena-0000", "athena-0001", "athena-0002"]
    assert "3 events" in err and "117.7 MB" in err and "$0.0006" in err and "estimate" in err
    saved = list((tmp_path / "cache" / "trailscope" / "athena").glob("athena-*.json.gz"))
    assert len(saved) == 1
    # The SQL Athena received is the filter's, with the day partition.
    qid = client.list_query_executions(WorkGroup="ir")["QueryExecutionIds"][-1]
    sent = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Query"]
    assert "\"timestamp\" >= '2026/11/20'" in sent and "LOWER(eventname) = 'getobject'" in sent


def test_cli_filter_athena_cannot_express_is_a_usage_error(aws, capsys):
    rc = main(["athena", "--database", "trails", "-e", '"AccessDenied"'])
    assert rc == 2
    assert "raw record" in capsys.readouterr().err


def test_cli_unknown_workgroup_fails_cleanly(aws, capsys):
    rc = main(
        [
            "athena",
            "--database",
            "trails",
            "--workgroup",
            "nope",
            "--region",
            REGION,
            "-e",
            "cred:root",
            "--poll-seconds",
            "0",
        ]
    )
    assert rc == 1
    assert "WorkGroup does not exist" in capsys.readouterr().err


def test_cost_estimate():
    from tui.core.sqlgen import cost_usd

    assert cost_usd(0) == 0
    assert cost_usd(1) == pytest.approx(10 / 1024 / 1024 * 5)  # the 10 MB minimum
    assert cost_usd(1024**4) == pytest.approx(5.0)
