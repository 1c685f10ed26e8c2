"""The numpy column conversions must agree with the scalar code they speed up."""

from __future__ import annotations

import random

import numpy as np

from tui.core.batch import FileBatch, _ids_fast, _times_and_ids, id_hash, times_ms
from tui.core.normalize import parse_time_ms


def test_times_ms_matches_scalar_parse_on_valid_and_odd_inputs():
    rng = random.Random(4)
    vals: list = []
    for _ in range(3000):
        y, mo, d = rng.randrange(1, 2400), rng.randrange(0, 14), rng.randrange(0, 33)
        h, mi, s = rng.randrange(0, 26), rng.randrange(0, 62), rng.randrange(0, 62)
        vals.append(f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z")
    vals += [
        "2024-02-29T23:59:59Z",
        "2023-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2026-11-20T10:05:00.123Z",
        "2026-11-20 10:05:00+02:00",
        "2026-11-20T1O:05:00Z",
        "２０２６-11-20T10:05:00Z",
        None,
        5,
        "",
        "2026-11-20T10:05:00z",
        "x" * 20,
    ]
    got = times_ms(vals)
    want = np.array([parse_time_ms(v) for v in vals], np.int64)
    assert np.array_equal(got, want)


def test_vectorised_ids_equal_the_scalar_hash_and_prefix():
    ids = ["11ea990b-4678-4bcd-8fbe-62509088b7cf", "a", "x" * 40, "EXAMPLE-id_01"]
    fast = _ids_fast(ids)
    assert fast is not None
    eid16, idh = fast
    assert list(idh) == [id_hash(e.encode()) for e in ids]
    assert eid16 == b"".join(e.encode()[:16].ljust(16, b"\0") for e in ids)
    for odd in (["é-id"], ["x" * 41], ["ok", None], ["ok", ""], ["nul\0id"]):
        assert _ids_fast(odd) is None
    # the scalar path (taken for those) hashes the same id the same way
    b = FileBatch("p", "log", "loaded", "")
    b.n = 3
    flags = _times_and_ids(
        b, ["2026-11-20T10:00:00Z"] * 3, ["11ea990b-4678-4bcd-8fbe-62509088b7cf", None, "é"]
    )
    assert int(b.idh[0]) == int(idh[0]) and int(b.idh[1]) == 0 and flags[1] != 0
    assert int(b.idh[2]) == id_hash("é".encode())
