"""The free-text corpus in spill files (tui/core/spill.py): parser processes write it,
the main process reads it back; free text answers as with the corpus in memory, the
files go away with the store, and a failed write keeps the corpus in memory."""

from __future__ import annotations

import gc
import os
import pickle
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import loader
from tui.core.batch import FileBatch
from tui.core.discovery import discover
from tui.core.loader import iter_batches, load
from tui.core.parser_side import parse_task
from tui.core.spill import Spilled, SpillFile, Spills, SpillWriter, read_blob
from tui.core.store import Store

ROOT = Path(__file__).resolve().parents[2]

# Text an attacker can put in a log, and text that lower-cases to other lengths.
HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "[@click=app.quit]Quit[/]",
    "\u202eevil\u202c",
    "\x9b2J",
    "İstanbul ÄÖÜ ẞtraße",
    'a "quoted" \\ back\\slash',
]
PHRASES = [
    "describeinstances",
    "DescribeInstances",
    "istanbul",
    "i̇stanbul",  # what "İ" lower-cases to
    "äöü",
    "[@click=app.quit]",
    "\x1b[31m",
    "\u202eevil",
    '"quoted"',
    "back\\slash",
    "shared-in-both",
    "tail-only",
    "no such text anywhere",
    "E3",
]


@pytest.fixture(autouse=True)
def _spill_here(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", str(tmp_path / "spill"))
    monkeypatch.setattr(Spills, "_noted", False)


def write_trail(root: Path, files: int = 8, per_file: int = 60, tag: str = "") -> None:
    for k in range(files):
        recs = []
        for i in range(per_file):
            extra = {}
            if i % 5 == 0:
                extra["requestParameters"] = {"note": HOSTILE[(k + i) % len(HOSTILE)]}
            if i % 17 == 0:
                extra["userAgent"] = f"{tag}shared-in-both"
            recs.append(
                event(
                    f"E{i % 7}" if i % 3 else "DescribeInstances",
                    f"2026-11-20T1{i % 10}:00:00Z",
                    event_id=f"{tag}{k:04d}-{i:06d}",
                    **extra,
                )
            )
        write_records(trail_path(root, suffix=f"{tag}{k:016d}"), recs)


def write_lenient(root: Path) -> None:
    """A JSON Lines file with a NaN (the general, lenient path) and hostile text."""
    path = root / "extra" / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        orjson.dumps(event("LenientOne", event_id=f"len-{i}", note=h))
        for i, h in enumerate(HOSTILE)
    ]
    lines.append(
        b'{"eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z", "eventID": "nan-1", '
        b'"eventName": "NaNEvent", "eventSource": "s3.amazonaws.com", "n": NaN}'
    )
    path.write_bytes(b"\n".join(lines) + b"\n")


def expected_rows(store: Store, phrase: str) -> set[int]:
    """Rows whose canonical JSON holds `phrase` as free text defines it (computed from
    the events themselves, not from the corpus)."""
    needle = orjson.dumps(phrase)[1:-1].decode().lower()
    return {r for r in range(len(store)) if needle in store.canonical(r).decode().lower()}


def rows_of(mask: np.ndarray) -> set[int]:
    return set(np.flatnonzero(mask).tolist())


def spill_fds() -> list[str]:
    """The open files of this process that are (deleted) spill files."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "/spill" in target and "corpus-" in target:
            out.append(target)
    return out


def leftovers(tmp_path: Path) -> list[Path]:
    root = tmp_path / "spill"
    return sorted(root.rglob("*")) if root.exists() else []


# --------------------------------------------------------------------------- tests


def test_spill_round_trip_in_order_and_across_pickling(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    w = SpillWriter(str(folder))
    blobs = [os.urandom(n) for n in (1, 5000, 0, 70_000, 3)]
    places = [w.put(b) for b in blobs]
    assert places[2] == b""  # nothing to write
    assert all(isinstance(p, Spilled) for i, p in enumerate(places) if i != 2)
    sent = pickle.loads(pickle.dumps(places))  # as a parser process sends them
    f = SpillFile(w.path)
    for p in sent:
        if isinstance(p, Spilled):
            p.file = f
    assert [read_blob(p) for p in sent] == blobs
    assert [len(p) for p in sent] == [len(b) for b in blobs]
    with pytest.raises(RuntimeError, match="not adopted"):
        pickle.loads(pickle.dumps(places[0])).read()


def test_free_text_over_spilled_corpus_equals_in_memory_and_the_events(tmp_path, monkeypatch):
    root = tmp_path / "trail"
    write_trail(root)
    write_trail(root, files=2, tag="r")  # a re-delivery below: the same events again
    write_lenient(root)
    # re-delivered copies of two files under other names: duplicates dropped by eventID
    for k in range(2):
        src = trail_path(root, suffix=f"{k:016d}")
        dst = trail_path(root, suffix=f"copy{k:012d}")
        dst.write_bytes(src.read_bytes())
    spilled = load([root], jobs=2)
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", "off")
    memory = load([root], jobs=2)
    assert len(spilled) == len(memory) > 0 and spilled.duplicates == memory.duplicates > 0
    kinds = {type(fi.text_low) for fi in spilled.files if fi.records}
    assert kinds == {Spilled}, kinds
    assert all(isinstance(fi.text_low, bytes) for fi in memory.files)
    for phrase in PHRASES:
        got = rows_of(spilled.mask_text(phrase))
        assert got == rows_of(memory.mask_text(phrase)), phrase
        assert got == expected_rows(spilled, phrase), phrase
    assert rows_of(spilled.mask_text("[@click=app.quit]"))  # the fixture has hits
    assert rows_of(spilled.mask_text("nanevent"))  # the lenient file's event too
    # The parsers' files are open and unlinked, the folder gone...
    assert leftovers(tmp_path) == []
    assert spill_fds()
    # ... and once the store goes, so is the data.
    del spilled
    gc.collect()
    assert spill_fds() == []


def test_tail_rounds_spill_and_searches_extend_over_them(tmp_path):
    root = tmp_path / "trail"
    write_trail(root, files=4)
    store = load([root], jobs=2)
    before = rows_of(store.mask_text("tail-only"))
    shared = rows_of(store.mask_text("shared-in-both"))
    assert before == set() and shared
    # A tail round big enough for parser processes: batches added and committed as
    # the follower does (tail.py), into the same store.
    new = tmp_path / "new"
    for k in range(4):
        recs = [
            event("TailEvent", event_id=f"t{k}-{i}", userAgent="tail-only shared-in-both")
            for i in range(30)
        ]
        write_records(trail_path(new, suffix=f"tail{k:012d}"), recs)
    for b in iter_batches(discover([new]).files, jobs=2):
        assert isinstance(b.text_low, Spilled)
        store.add(b)
    assert store.text_backlog("shared-in-both") == 0  # nothing committed yet
    store.commit()
    assert store.text_backlog("shared-in-both") == 4  # the kept answer is extended
    tail = rows_of(store.mask_text("tail-only"))
    assert len(tail) == 120 and tail == expected_rows(store, "tail-only")
    assert rows_of(store.mask_text("shared-in-both")) == shared | tail
    assert leftovers(tmp_path) == []


def parse_with_a_small_file_limit(args: tuple[str, str, int]) -> FileBatch:
    """In a parser process: spill files may not grow past 4 KiB (as on a full disk,
    a write fails part-way: EFBIG instead of ENOSPC)."""
    if resource.getrlimit(resource.RLIMIT_FSIZE)[0] != 4096:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
    return parse_task(args)


def test_a_failed_spill_write_keeps_the_corpus_in_memory_and_says_so(tmp_path, monkeypatch, capsys):
    root = tmp_path / "trail"
    write_trail(root, files=10, per_file=40)
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", "off")
    memory = load([root], jobs=1)
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", str(tmp_path / "spill"))
    work = [(f.path, f.kind, loader.DEFAULT_MAX_BYTES) for f in discover([root]).files]
    store = Store()
    for b in loader._parse_parallel(work, 2, parse=parse_with_a_small_file_limit):
        store.add(b)
    store.commit()
    kinds = [type(fi.text_low) for fi in store.files]
    assert Spilled in kinds and bytes in kinds  # some fitted, the rest stayed in memory
    err = capsys.readouterr().err
    assert err.count("trailscope: the free-text corpus is kept in memory") == 1
    assert "File too large" in err
    assert len(store) == len(memory) == 400
    for phrase in PHRASES:
        assert rows_of(store.mask_text(phrase)) == rows_of(memory.mask_text(phrase)), phrase
    assert leftovers(tmp_path) == []


def test_no_folder_to_spill_in_falls_back_to_the_temp_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", str(blocker / "under"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)
    s = Spills()
    try:
        assert Path(s.folder).parent == tmp_path / "tmp"
        assert oct(os.stat(s.folder).st_mode & 0o777) == "0o700"
    finally:
        s.close()
    assert not os.path.exists(s.folder)


CRASHING_MAIN = """
import os, signal, sys
from tui.core import loader
from tui.core.discovery import discover
loader.PARALLEL_MIN_BYTES = 0
gen = loader.iter_batches(discover([sys.argv[1]]).files, jobs=2)
next(gen)
print(" ".join(str(c.pid) for c in __import__("multiprocessing").active_children()), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_parsers_remove_their_spill_files_when_the_main_process_dies(tmp_path):
    root = tmp_path / "trail"
    write_trail(root, files=30, per_file=200)
    env = {**os.environ, "TRAILSCOPE_SPILL_DIR": str(tmp_path / "spill"), "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", CRASHING_MAIN, str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == -signal.SIGKILL, p.stderr
    pids = [int(x) for x in p.stdout.split()]
    assert pids
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)
    assert leftovers(tmp_path) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (its parent died: reaped by init soon) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_a_spill_folder_never_goes_inside_the_trail(tmp_path, monkeypatch):
    """TRAILSCOPE_SPILL_DIR inside the trail being loaded (or the cache under a home
    folder given as the trail): the spill goes to the temp folder instead, and nothing
    is written under the trail."""
    root = tmp_path / "trail"
    write_trail(root)
    inside = root / "spill-here"
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", str(inside))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    before = sorted(p for p in root.rglob("*"))
    store = load([str(root)], jobs=2)
    assert len(store) == 8 * 60
    assert sorted(p for p in root.rglob("*")) == before  # nothing written in the trail
    assert not inside.exists()
    assert rows_of(store.mask_text("describeinstances")) == expected_rows(
        store, "describeinstances"
    )
    assert any(isinstance(fi.text_low, Spilled) for fi in store.files)  # spilled elsewhere


def test_a_spilled_corpus_is_compressed_for_speed_and_reads_back_the_same(tmp_path):
    """A corpus bound for a spill file (disk) takes the fast zstd level, one kept in
    memory the compact one; both inflate to the same lower-cased text, hostile and
    non-ASCII bytes included (the general path's re-spanned text too)."""
    import zstandard

    from tui.core import batch

    root = tmp_path / "trail"
    write_trail(root, files=1)
    write_lenient(root)
    files = [f.path for f in discover([root]).files]
    assert len(files) == 2
    memory = {p: batch.parse_file(p) for p in files}
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    batch.use_spill(str(spill_dir))
    try:
        spilled = {p: batch.parse_file(p) for p in files}
    finally:
        writer = batch.spill_writer()
        batch.use_spill("")
    dctx = zstandard.ZstdDecompressor()
    texts = []
    for p in files:
        m, s = memory[p], spilled[p]
        assert isinstance(m.text_low, bytes) and isinstance(s.text_low, Spilled)
        with open(s.text_low.file, "rb") as fh:  # type: ignore[arg-type]
            fh.seek(s.text_low.offset)
            blob = fh.read(s.text_low.length)
        text = dctx.decompress(m.text_low)
        assert dctx.decompress(blob) == text
        assert blob == zstandard.ZstdCompressor(level=batch._SPILL_ZLEVEL).compress(text)
        assert m.text_low == zstandard.ZstdCompressor(level=batch._ZLEVEL).compress(text)
        assert (m.lstarts.tolist(), m.lends.tolist()) == (s.lstarts.tolist(), s.lends.tolist())
        texts.append(text)
    whole = b"".join(texts)
    for h in ("[@click=app.quit]", "\x1b[31m", "\u202eevil", "i\u0307stanbul äöü"):
        assert orjson.dumps(h)[1:-1] in whole, h  # hostile and non-ASCII text was there
    writer.abandon()
