"""A real S3 API on localhost for the tests: moto's server mode (ThreadedMotoServer), and
trails put into it where CloudTrail puts them.

`S3Server` starts moto on a free port of 127.0.0.1. `calls(session)` records the S3 API
calls a boto3 session makes (botocore's `before-call` events, with their parameters), so a
test can assert which prefixes were listed and which objects were fetched. Moto keeps one
in-process state: `reset()` empties it between tests.
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def aws_env(tmp: Path) -> dict[str, str]:
    """Credentials for moto, and no shared config or credentials files of the machine's
    (so a developer's own profile never leaks into a test)."""
    return {
        **CREDENTIALS,
        "AWS_CONFIG_FILE": str(tmp / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


_REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d+)')


class RequestLog(logging.Handler):
    """The requests the server answered, from its access log (werkzeug's): what any
    client, a `trailscope` process included, asked for."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.lines.append(record.getMessage())

    def requests(self) -> list[tuple[str, str, dict, int]]:
        """(method, key path, query, status) of each request, settled: the log line is
        written just after the response, so wait until no new line comes for a moment."""
        n = -1
        while True:
            with self._lock2:
                if len(self.lines) == n:
                    break
                n = len(self.lines)
            time.sleep(0.05)
        out = []
        with self._lock2:
            lines = list(self.lines)
        for line in lines:
            m = _REQUEST_LINE.search(line)
            if m:
                u = urlsplit(m.group(2))
                out.append((m.group(1), unquote(u.path), dict(parse_qsl(u.query)), int(m.group(3))))
        return out

    def gets(self) -> list[str]:
        """Paths (/bucket/key) of object downloads."""
        return [p for m, p, q, _ in self.requests() if m == "GET" and not q and p.count("/") > 1]

    def lists(self) -> list[dict]:
        return [q for m, p, q, _ in self.requests() if m == "GET" and q.get("list-type")]

    def clear(self) -> None:
        with self._lock2:
            self.lines.clear()


class S3Server:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.log = RequestLog()
        wz = logging.getLogger("werkzeug")
        wz.setLevel(logging.INFO)
        wz.addHandler(self.log)
        wz.propagate = False

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()
        logging.getLogger("werkzeug").removeHandler(self.log)

    def reset(self) -> None:
        import requests

        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        self.enforce_iam(False)

    def enforce_iam(self, on: bool) -> None:
        """Make the server check every request against IAM policies (moto's auth)."""
        import requests

        value = "0" if on else "inf"
        requests.post(
            f"{self.endpoint}/moto-api/reset-auth", data=value, timeout=10
        ).raise_for_status()

    def session(self, **creds):
        import boto3

        return boto3.Session(
            aws_access_key_id=creds.get("key", "testing"),
            aws_secret_access_key=creds.get("secret", "testing"),
            region_name="us-east-1",
        )

    def client(self, session=None):
        return (session or self.session()).client("s3", endpoint_url=self.endpoint)


@dataclass
class Calls:
    """S3 API calls made through a session: (operation, parameters), in order."""

    made: list[tuple[str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, op: str) -> list[dict]:
        with self.lock:
            return [p for o, p in self.made if o == op]

    def listed(self) -> list[tuple[str, str | None]]:
        """(Prefix, Delimiter) of each ListObjectsV2 call."""
        return [(p.get("Prefix", ""), p.get("Delimiter")) for p in self.of("ListObjectsV2")]

    def clear(self) -> None:
        with self.lock:
            self.made.clear()


def record_calls(session) -> Calls:
    calls = Calls()

    def hook(params, model, **_kw):
        with calls.lock:
            calls.made.append((model.name, dict(params)))

    session.events.register("before-parameter-build.s3", hook)
    return calls


@contextmanager
def moto_s3() -> Iterator[S3Server]:
    server = S3Server()
    try:
        yield server
    finally:
        server.stop()


def log_key(
    account: str = "111122223333",
    region: str = "us-east-1",
    when: str = "20261120T1005Z",
    suffix: str = "abcdefghijklmnop",
    org: str | None = None,
    prefix: str = "",
    service: str = "CloudTrail",
) -> str:
    y, m, d = when[:4], when[4:6], when[6:8]
    base = f"{prefix}AWSLogs/" + (f"{org}/" if org else "")
    return (
        f"{base}{account}/{service}/{region}/{y}/{m}/{d}/"
        f"{account}_{service}_{region}_{when}_{suffix}.json.gz"
    )


def records_gz(records: list[dict]) -> bytes:
    return gzip.compress(orjson.dumps({"Records": records}), mtime=0)


def put(client, bucket: str, key: str, body: bytes, metadata: dict | None = None) -> None:
    kw = {"Metadata": metadata} if metadata else {}
    client.put_object(Bucket=bucket, Key=key, Body=body, **kw)


def upload_tree(client, bucket: str, root: Path, prefix: str = "") -> list[str]:
    """Put every file under `root` at its relative path (after `prefix`)."""
    keys = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            key = prefix + p.relative_to(root).as_posix()
            client.put_object(Bucket=bucket, Key=key, Body=p.read_bytes())
            keys.append(key)
    return keys


# ------------------------------------------------------------------ pytest fixtures
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, tmp_path: Path, monkeypatch) -> S3Server:
    """The server, emptied, with test credentials in the environment and the cache in
    tmp_path (XDG_CACHE_HOME)."""
    s3_server.reset()
    s3_server.log.clear()
    for k, v in aws_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return s3_server


class FlakyNetwork:
    """A proxy on localhost in front of the S3 server, standing in for a bad network:
    downloads of keys that contain a `hold` string get no answer until `release()`;
    those that contain a `cut` string get their headers and `cut[s]` bytes of the body,
    then the connection drops. Everything else passes through. One request per
    connection (each answer says `Connection: close`)."""

    def __init__(self, upstream: str) -> None:
        import socket

        u = urlsplit(upstream)
        self._upstream = (u.hostname, u.port)
        self.hold: set[str] = set()
        self.cut: dict[str, int] = {}
        self.released = threading.Event()
        self.held: list[str] = []  # keys whose download is being held
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._open: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self._sock.close()
        for c in list(self._open):
            try:
                c.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        import socket

        try:
            with conn:
                head, body = _read_request(conn)
                if head is None:
                    return
                method, target = head.split(b" ", 2)[:2]
                key = unquote(urlsplit(target.decode()).path)
                download = method == b"GET" and b"?" not in target
                lines = [
                    ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")
                ]
                request = b"\r\n".join(lines[:-2] + [b"Connection: close", b"", b""]) + body
                with socket.create_connection(self._upstream) as up:
                    up.sendall(request)
                    chunks = []
                    while data := up.recv(65536):
                        chunks.append(data)
                answer = b"".join(chunks)
                if download and any(s in key for s in self.hold):
                    self.held.append(key)
                    self.released.wait(60)
                for s, n in self.cut.items():
                    if download and s in key:
                        top, _, rest = answer.partition(b"\r\n\r\n")
                        conn.sendall(top + b"\r\n\r\n" + rest[:n])
                        return  # and the connection drops
                conn.sendall(answer)
        except OSError:
            pass
        finally:
            if conn in self._open:
                self._open.remove(conn)


def _read_request(conn) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return None, b""
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    head += b"\r\n\r\n"
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    need = int(m.group(1)) if m else 0
    while len(body) < need:
        more = conn.recv(65536)
        if not more:
            break
        body += more
    return head, body


@pytest.fixture
def flaky(s3: S3Server) -> Iterator[FlakyNetwork]:
    """A bad network between the code under test and the S3 server (FlakyNetwork)."""
    net = FlakyNetwork(s3.endpoint)
    try:
        yield net
    finally:
        net.close()
