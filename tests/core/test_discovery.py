"""discovery.py on real folder trees in tmp_path."""

from __future__ import annotations

import gzip
import os
import tempfile
import time
from pathlib import Path

import pytest

from tui.core.discovery import Discovery, TrailFile, classify_name, discover, layout_of
from tui.core.reader import FileState, read_path

ORG = "o-abc1234def"
A1, A2 = "111122223333", "444455556666"


def touch(p: Path, data: bytes = b'{"Records": []}') -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(gzip.compress(data) if p.name.endswith(".gz") else data)
    return p


def log_name(acct: str, region: str, stamp: str, suffix: str = "AbCdEfGhIjKlMnOp") -> str:
    return f"{acct}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"


def build_tree(root: Path) -> dict[str, Path]:
    """Two accounts (one via an org trail), regions, days, digests, insights and noise."""
    p: dict[str, Path] = {}
    org = root / "AWSLogs" / ORG / A1 / "CloudTrail"
    p["org1"] = touch(org / "us-east-1/2024/03/01" / log_name(A1, "us-east-1", "20240301T0005Z"))
    p["org2"] = touch(org / "us-east-1/2024/03/02" / log_name(A1, "us-east-1", "20240302T1200Z"))
    p["org3"] = touch(org / "eu-west-1/2024/03/01" / log_name(A1, "eu-west-1", "20240301T0010Z"))
    plain = root / "AWSLogs" / A2 / "CloudTrail" / "ap-southeast-2/2023/12/31"
    p["a2"] = touch(plain / log_name(A2, "ap-southeast-2", "20231231T2355Z"))
    p["inflight"] = touch(plain / (log_name(A2, "ap-southeast-2", "20231231T2359Z") + ".1a2B3c4D"))
    p["partial"] = touch(plain / "download.json.gz.partial")
    p["dot"] = touch(plain / ".DS_Store", b"\0")
    p["readme"] = touch(root / "README.txt", b"hello")
    ins = root / "AWSLogs" / A2 / "CloudTrail-Insight" / "us-east-1/2024/01/05"
    p["insight"] = touch(
        ins / f"{A2}_CloudTrail-Insight_us-east-1_20240105T0100Z_ZyXwVuTsRqPoNmLk.json.gz"
    )
    dig = root / "AWSLogs" / ORG / A1 / "CloudTrail-Digest" / "us-east-1/2024/03/01"
    p["digest"] = touch(
        dig / f"{A1}_CloudTrail-Digest_us-east-1_mgmt-trail_us-east-1_20240301T010203Z.json.gz"
    )
    return p


def paths(files: list[TrailFile]) -> list[str]:
    return [f.path for f in files]


def test_realistic_tree(tmp_path):
    p = build_tree(tmp_path)
    d = discover([tmp_path])
    assert isinstance(d, Discovery)
    expect = sorted(str(p[k]) for k in ("org1", "org2", "org3", "a2", "insight"))
    assert paths(d.files) == expect
    by_path = {f.path: f for f in d.files}

    f = by_path[str(p["org1"])]
    assert (f.kind, f.org, f.account, f.region, f.day) == (
        "log",
        ORG,
        A1,
        "us-east-1",
        "2024-03-01",
    )
    assert f.size == p["org1"].stat().st_size and f.mtime_ns == p["org1"].stat().st_mtime_ns
    f = by_path[str(p["a2"])]
    assert (f.org, f.account, f.region, f.day) == (None, A2, "ap-southeast-2", "2023-12-31")
    f = by_path[str(p["insight"])]
    assert (f.kind, f.account, f.region, f.day) == ("insight", A2, "us-east-1", "2024-01-05")

    assert [(t.path, t.kind, t.org, t.day) for t in d.digests] == [
        (str(p["digest"]), "digest", ORG, "2024-03-01")
    ]
    assert sorted(d.ignored) == sorted(
        [
            (str(p["inflight"]), "in-flight download (aws s3 sync temp name)"),
            (str(p["partial"]), "in-flight download"),
            (str(p["dot"]), "hidden file"),
            (str(p["readme"]), "not a log file name"),
        ]
    )
    assert d.errors == []


def test_walk_paths_are_joined_not_resolved(tmp_path):
    build_tree(tmp_path / "real")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    d = discover([str(tmp_path / "link")])
    assert len(d.files) == 5
    assert all(f.path.startswith(str(tmp_path / "link") + os.sep) for f in d.files)


def test_subfolder_and_single_file_roots(tmp_path):
    p = build_tree(tmp_path)
    day = p["org1"].parent
    d = discover([day])
    assert paths(d.files) == [str(p["org1"])] and d.files[0].org == ORG
    d = discover([Path(str(p["digest"]))])
    assert d.files == [] and paths(d.digests) == [str(p["digest"])]


@pytest.mark.parametrize(
    "name",
    [
        "events.jsonl",
        "export.json",
        "foo.txt",
        "no_extension",
        ".hidden.json",
        "x.json.gz.1a2b3c4d",
    ],
)
def test_explicit_file_is_always_a_candidate(tmp_path, name):
    f = touch(tmp_path / name)
    same = str(f)
    d = discover([same, same])
    assert [(t.path, t.kind) for t in d.files] == [(str(f), "log")]
    assert d.ignored == d.errors == []


def test_explicit_insight_file(tmp_path):
    p = build_tree(tmp_path)
    d = discover([p["insight"]])
    assert [t.kind for t in d.files] == ["insight"]


def test_missing_path(tmp_path):
    d = discover([tmp_path / "nope", tmp_path / "nope.json.gz"])
    assert d.files == [] and [r for _, r in d.errors] == ["no such file or folder"] * 2
    assert d.errors[0][0] == str(tmp_path / "nope")


def test_symlink_loop(tmp_path):
    p = build_tree(tmp_path / "t")
    loop = p["org1"].parent / "back-to-top"
    loop.symlink_to(tmp_path / "t", target_is_directory=True)
    self_loop = tmp_path / "t" / "self"
    self_loop.symlink_to(".", target_is_directory=True)
    t = time.perf_counter()
    d = discover([tmp_path / "t"])
    assert time.perf_counter() - t < 1.0
    assert len(d.files) == 5 and len(set(paths(d.files))) == 5
    assert sorted(d.errors) == sorted(
        [(str(loop), "symlink loop"), (str(self_loop), "symlink loop")]
    )


def test_same_folder_reached_twice_is_walked_once(tmp_path):
    p = build_tree(tmp_path / "t")
    (tmp_path / "t" / "alias").symlink_to(p["org1"].parent, target_is_directory=True)
    d = discover([tmp_path / "t", p["org1"].parent])  # also given again explicitly
    assert len(d.files) == 5 and d.errors == []
    reasons = {r for _, r in d.ignored}
    assert "same folder already walked" in reasons


def test_same_file_reached_twice_is_listed_once(tmp_path):
    p = build_tree(tmp_path / "t")
    link = tmp_path / "t" / "extra" / "copy.json.gz"
    link.parent.mkdir()
    link.symlink_to(p["a2"])
    hard = tmp_path / "t" / "extra" / "hard.json.gz"
    os.link(p["org1"], hard)
    again = str(p["a2"])
    d = discover([tmp_path / "t", p["a2"], again, again])
    assert len(d.files) == 5
    dupes = sorted(path for path, r in d.ignored if r.startswith("same file as "))
    assert dupes == sorted([str(link), str(hard)])


def test_broken_symlink_and_special_files(tmp_path):
    (tmp_path / "dangling.json.gz").symlink_to(tmp_path / "missing.json.gz")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "itself.json").symlink_to(tmp_path / "itself.json")
    os.mkfifo(tmp_path / "pipe.json")
    d = discover([tmp_path])
    assert d.files == []
    assert d.errors == [
        (str(tmp_path / "dangling.json.gz"), "broken symlink"),
        (str(tmp_path / "itself.json"), "symlink loop"),
    ]
    assert d.ignored == [
        (str(tmp_path / "dangling.txt"), "not a log file name"),
        (str(tmp_path / "pipe.json"), "not a regular file"),
    ]


def _denied_dir(tmp_path: Path) -> Path | None:
    """A folder this process cannot list (root ignores chmod; some /proc folders refuse
    listing even to root)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    touch(locked / "inside.json.gz")
    locked.chmod(0)
    for cand in (locked, Path("/proc/1/map_files"), Path("/proc/1/root")):
        try:
            with os.scandir(cand):
                pass
        except PermissionError:
            return cand
        except OSError:
            continue
    return None


def test_unreadable_folder_is_reported(tmp_path):
    tree = tmp_path / "tree"
    build_tree(tree)
    denied = _denied_dir(tmp_path)
    try:
        if denied is None:
            pytest.skip("no folder here refuses listing to this user")
        # Reach it from inside the walked tree, as a mirror with a locked folder would
        # (through a symlink that leads outside the tree: followed as asked).
        where = tree / "AWSLogs" / "locked-part"
        where.symlink_to(denied, target_is_directory=True)
        d = discover([tree], follow_symlinks=True)
        assert (str(where), "permission denied") in d.errors
        assert len(d.files) == 5
        d = discover([denied])
        assert d.errors == [(str(denied), "permission denied")]
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_undecodable_file_name(tmp_path):
    raw_dir = os.fsencode(tmp_path)
    bad = os.path.join(raw_dir, b"ev\xff\xfe.json")
    with open(bad, "wb") as fh:
        fh.write(b'{"Records": [{"eventName": "A"}]}')
    d = discover([tmp_path])
    assert len(d.files) == 1
    name = d.files[0].path
    assert os.fsencode(name) == bad  # surrogate-escaped, round-trips to the real bytes
    r = read_path(name)
    assert r.state is FileState.LOADED and r.records == [{"eventName": "A"}]
    assert discover([bad]).files[0].path == name  # bytes paths are accepted too


def test_dot_folders_are_walked(tmp_path):
    f = touch(tmp_path / "..." / "x" / "e.json.gz")
    d = discover([tmp_path])
    assert paths(d.files) == [str(f)]


@pytest.mark.parametrize(
    "name,expect",
    [
        ("a.json.gz", ("log", "")),
        ("A.JSON.GZ", ("log", "")),
        ("a.json", ("log", "")),
        ("a.jsonl", ("log", "")),
        ("a.jsonl.gz", ("log", "")),
        ("a.ndjson", ("log", "")),
        ("a.NDJSON.gz", ("log", "")),
        ("a.json.gz.0A1b2C3d", (None, "in-flight download (aws s3 sync temp name)")),
        ("a.json.gz.partial", (None, "in-flight download")),
        ("a.json.tmp", (None, "in-flight download")),
        ("a.json.gz.crdownload", (None, "in-flight download")),
        (".a.json.gz", (None, "hidden file")),
        ("a.txt", (None, "not a log file name")),
        ("a.gz", (None, "not a log file name")),
        ("a.json.gz.1234567", (None, "not a log file name")),
        (f"{A1}_CloudTrail-Digest_us-east-1_t_us-east-1_20240301T010203Z.json.gz", ("digest", "")),
        (f"{A1}_CloudTrail-Insight_us-east-1_20240301T0100Z_x.json.gz", ("insight", "")),
        ("x/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/d.json.gz", ("digest", "")),
        ("x/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/i.json.gz", ("insight", "")),
        ("x/CloudTrail-Digested/a.json.gz", ("log", "")),
    ],
)
def test_classify_name(name, expect):
    assert classify_name(name) == expect


@pytest.mark.parametrize(
    "path,expect",
    [
        (
            f"/m/AWSLogs/{ORG}/{A1}/CloudTrail/us-east-1/2024/03/01/{log_name(A1, 'us-east-1', '20240301T0005Z')}",
            (ORG, A1, "us-east-1", "2024-03-01"),
        ),
        (
            f"bucket/prefix/AWSLogs/{A2}/CloudTrail/eu-central-1/2019/12/31/x.json.gz",
            (None, A2, "eu-central-1", "2019-12-31"),
        ),
        (
            f"AWSLogs/{A2}/CloudTrail-Insight/us-west-2/2020/07/21/x.json.gz",
            (None, A2, "us-west-2", "2020-07-21"),
        ),
        (
            f"AWSLogs/{A2}/CloudTrail-Digest/us-west-2/2020/07/21",
            (None, A2, "us-west-2", "2020-07-21"),
        ),
        (f"AWSLogs/{A2}/CloudTrail/us-gov-west-1", (None, A2, "us-gov-west-1", None)),
        (f"AWSLogs/{A2}/CloudTrail/us-east-1/2024/13/01/x.json.gz", (None, A2, "us-east-1", None)),
        (f"AWSLogs/{ORG}/{A1}", (ORG, A1, None, None)),
        (f"AWSLogs/{A2}", (None, A2, None, None)),
        ("AWSLogs/12345/CloudTrail/us-east-1/2024/01/01/x.json.gz", (None, None, None, None)),
        ("/data/export.json", (None, None, None, None)),
        # A flat download: the CloudTrail file name still says account, region and day.
        (
            f"/dl/{log_name(A1, 'ap-south-1', '20220102T0304Z')}",
            (None, A1, "ap-south-1", "2022-01-02"),
        ),
        (
            f"/dl/{A1}_CloudTrail-Digest_us-east-1_my_trail_us-east-1_20240301T010203Z.json.gz",
            (None, A1, "us-east-1", "2024-03-01"),
        ),
    ],
)
def test_layout_of(path, expect):
    assert layout_of(path) == expect


@pytest.mark.timing
def test_many_files_walk_fast(tmp_path):
    # File creation on this disk costs ~0.4 ms each, so build the big tree in tmpfs when
    # there is one; the walk itself is a few microseconds per file.
    shm = Path("/dev/shm")
    use_shm = shm.is_dir() and os.access(shm, os.W_OK)
    n_dirs, per_dir = (100, 200) if use_shm else (10, 200)
    with tempfile.TemporaryDirectory(dir=shm if use_shm else tmp_path) as tmp:
        root = Path(tmp)
        base = root / "AWSLogs" / A1 / "CloudTrail" / "us-east-1" / "2024" / "01"
        for i in range(n_dirs):
            d = base / f"{i % 28 + 1:02d}" / f"h{i}"
            d.mkdir(parents=True)
            for j in range(per_dir):
                name = f"{A1}_CloudTrail_us-east-1_20240101T{j:04d}Z_{i:016d}.json.gz"
                os.close(os.open(d / name, os.O_CREAT | os.O_WRONLY))
        t = time.perf_counter()
        d = discover([root])
        elapsed = time.perf_counter() - t
    assert len(d.files) == n_dirs * per_dir
    assert paths(d.files) == sorted(paths(d.files))
    assert {(f.account, f.region) for f in d.files} == {(A1, "us-east-1")}
    assert elapsed < n_dirs * per_dir * 25e-6, elapsed  # 0.5 s for 20,000 files


def test_absolute_path_as_the_user_meant_it(tmp_path, monkeypatch):
    """Followers compare paths with a watcher's absolute ones, so entry points make
    them absolute. `..` after a symlink is resolved by the file system (the folder
    above the link's target), not lexically; symlinks after it are kept as named."""
    from tui.core.discovery import absolute_path

    real = tmp_path / "data" / "real"
    (real / "trail").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "link").symlink_to(real)
    (tmp_path / "alias").symlink_to(real / "trail")
    monkeypatch.chdir(tmp_path)
    assert absolute_path("alias") == str(tmp_path / "alias")  # the link, as named
    assert absolute_path("./alias/") == str(tmp_path / "alias")
    assert absolute_path("elsewhere//link/./trail") == str(tmp_path / "elsewhere/link/trail")
    # elsewhere/link/.. is data/, where the link points, not elsewhere/
    resolved = os.path.join(os.path.realpath(real), "trail")
    assert absolute_path("elsewhere/link/../real/trail") == resolved
    assert absolute_path(str(tmp_path / "alias")) == str(tmp_path / "alias")
