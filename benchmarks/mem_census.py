"""What the explorer's memory holds at each stage of a load (a benchmark, not a test).

    python benchmarks/mem_census.py --events 10000000 [--census STAGE...] [--malloc-info]
    MEM_CENSUS_CODE=/path/to/other/checkout python benchmarks/mem_census.py ...

Runs the explorer headless (Pilot, as bench_app.py) over a generated trail and prints, when
the load is on screen, 2 s later (facet columns, warmed view heap) and once the
detections and the credential index have run: the process's RSS and peak (VmRSS, VmHWM),
glibc's heap (mallinfo2: bytes in use, free but kept, mmapped), Python's object
allocator (pymalloc arenas), and with --census the bytes reachable from the store's
parts, the detections, the credential index and the view (numpy arrays by `nbytes`,
other objects by `sys.getsizeof`; each object counted once, under the first part that
reaches it).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The checkout whose explorer is measured (an environment variable: the loader's spawn
# workers import this script again and must find the same `tui`).
CODE = os.environ.get("MEM_CENSUS_CODE")
if CODE:
    sys.path.insert(0, CODE)

MB = 1 << 20


def status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM", "RssAnon")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) // 1024
    return out


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_size_t)
        for n in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def heap() -> dict[str, int]:
    """glibc's view over every arena: in use, free but kept, mmapped chunks (MB)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        m = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    return {
        "heap": m.arena // MB,
        "in_use": m.uordblks // MB,
        "free": m.fordblks // MB,
        "mmapped": m.hblkhd // MB,
        "mmaps": m.hblks,
    }


def malloc_xml() -> str:
    """glibc's malloc_info report (XML: each arena's free chunks by size)."""
    import tempfile

    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
    libc.fclose.argtypes = (ctypes.c_void_p,)
    libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
    with tempfile.NamedTemporaryFile("r", suffix=".xml") as t:
        fp = libc.fopen(t.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        return open(t.name).read()


def arenas() -> list[tuple[int, int, int]]:
    """malloc_info per arena: (system MB, free MB in bins and top, free chunks)."""
    import re

    xml = malloc_xml()
    out = []
    for block in re.findall(r'<heap nr="\d+">(.*?)</heap>', xml, re.S):
        total = re.search(r'<system type="current" size="(\d+)"', block)
        free = re.findall(r'<total type="(?:fast|rest)" count="(\d+)" size="(\d+)"', block)
        out.append(
            (
                int(total.group(1)) // MB if total else 0,
                sum(int(s) for _, s in free) // MB,
                sum(int(c) for c, _ in free),
            )
        )
    return out


def pymalloc_mb() -> int:
    """Bytes in pymalloc's arenas (sys._debugmallocstats to a pipe)."""
    r, w = os.pipe()
    saved = os.dup(2)
    os.dup2(w, 2)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(w)
    text = b""
    while chunk := os.read(r, 1 << 16):
        text += chunk
    os.close(r)
    for line in text.decode().splitlines():
        if line.startswith("Total") and "=" in line:
            return int(line.split("=")[1].strip().replace(",", "")) // MB
    return -1


def reach(roots: list[object], seen: set[int]) -> tuple[int, int, int]:
    """Bytes reachable from `roots` not in `seen` (numpy data owners by nbytes, the rest
    by getsizeof): (array bytes, object bytes, objects)."""
    arr = obj = count = 0
    stack = list(roots)
    skip = (type, type(sys), type(reach))
    while stack:
        o = stack.pop()
        i = id(o)
        if i in seen or isinstance(o, skip):
            continue
        seen.add(i)
        count += 1
        if isinstance(o, np.ndarray):
            if o.base is None:
                arr += o.nbytes
            else:
                stack.append(o.base)
            obj += sys.getsizeof(o) - (o.nbytes if o.base is None else 0)
            continue
        try:
            obj += sys.getsizeof(o)
        except TypeError:
            pass
        if isinstance(o, (str, bytes, int, float)):
            continue
        stack.extend(gc.get_referents(o))
        for name in getattr(type(o), "__slots__", ()):
            v = getattr(o, name, None)
            if v is not None:
                stack.append(v)
    return arr, obj, count


def census(app) -> list[tuple[str, int, int, int]]:
    st = app.store
    seen: set[int] = {id(app), id(st)}
    parts = [
        ("store.columns", [st.columns]),
        ("store.dictionaries", [st.dictionaries]),
        ("store.time_order", [st.time_order]),
        ("store.files", [st.registry, st.originals]),
        ("store.deduper", [st.deduper]),
        ("store.text", [st.text]),
        ("store.path_columns+ip", [st.path_columns, st.ip_kinds]),
        ("store.counts/facets", [st._value_counts, st._facets_all]),
        ("store.rest", [st.__dict__]),
    ]
    det, cred = st.detections, st.credentials
    for p in parts:
        if p[0] == "store.rest":
            for o in (det, cred):
                if o is not None:
                    seen.add(id(o))
    out = []
    for name, roots in parts:
        a, b, n = reach(roots, seen)
        out.append((name, a // MB, b // MB, n))
        if name == "store.dictionaries":  # the C value tables (`_scan.StrTable`)
            tables = list(
                {id(d): d.values for d in st.dicts if hasattr(d.values, "nbytes")}.values()
            )
            if tables:
                held = sum(t.nbytes for t in tables)
                values = sum(len(t) for t in tables)
                out.append((f"store.dictionaries (C: {values} values)", held // MB, 0, 0))
    seen.discard(id(det))
    seen.discard(id(cred))
    for name, part in (("detections", det), ("credentials", cred)):
        if part is None:
            continue
        seen.add(id(part))
        for attr in sorted(getattr(part, "__dict__", {})):
            a, b, n = reach([part.__dict__[attr]], seen)
            if a + b >= MB // 2:
                out.append((f"{name}.{attr}", a // MB, b // MB, n))
        table = getattr(part, "table", None)
        if table is not None and hasattr(table, "nbytes"):
            out.append((f"{name}.table (C: {len(table)} keys)", table.nbytes // MB, 0, 0))
    a, b, n = reach([app.view], seen)
    out.append(("view", a // MB, b // MB, n))
    a, b, n = reach([app.__dict__], seen)
    out.append(("app rest (screens, widgets)", a // MB, b // MB, n))
    return out


def report(stage: str, t0: float, app, args) -> None:
    gc.collect()
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"{time.perf_counter() - t0:6.1f}s {stage}: {status()} {heap()} "
        f"pymalloc={pymalloc_mb()}MB cpu={ru.ru_utime + ru.ru_stime:.1f}s "
        f"faults={ru.ru_minflt} analysis={[round(s, 1) for s in app.analysis_runs]}",
        flush=True,
    )
    if args.malloc_xml:
        Path(f"{args.malloc_xml}.{stage}.xml").write_text(malloc_xml())
    if args.malloc_info:
        for k, (system, free, chunks) in enumerate(arenas()):
            if system:
                print(f"    arena {k}: {system} MB, free {free} MB in {chunks} chunks")
    if args.census and stage in args.census:
        c0 = time.perf_counter()
        for name, a, b, n in census(app):
            print(f"    {name:32} arrays {a:6} MB  objects {b:6} MB  ({n} objects)")
        print(f"    (census {time.perf_counter() - c0:.1f}s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--trail", type=Path)
    ap.add_argument("--census", nargs="*", default=(), help="stages: loaded +warm analysed")
    ap.add_argument("--malloc-info", action="store_true")
    ap.add_argument("--malloc-xml", help="write malloc_info's XML to PREFIX.<stage>.xml")
    ap.add_argument("--warm-s", type=float, default=2.0)
    ap.add_argument(
        "--keep-analysis-memory",
        action="store_true",
        help="the analysis's freed temporaries stay in the heap (the A/B of big_buffers_returned)",
    )
    args = ap.parse_args()
    if args.keep_analysis_memory:
        import contextlib

        import tui.analysis

        tui.analysis.big_buffers_returned = contextlib.nullcontext  # type: ignore[assignment]
    trail = args.trail or Path(__file__).parent / "data" / f"trail-{args.events}"
    from tui.app import TrailscopeApp

    app = TrailscopeApp([str(trail)], watch=False)

    async def run() -> None:
        t0 = time.perf_counter()
        async with app.run_test(size=(160, 50)) as pilot:
            st = app.store
            while True:
                v = app.view
                if (
                    not app.loading
                    and v is not None
                    and not app.views.pending
                    and not st.pending_events
                    and v.generation == st.generation
                ):
                    break
                await asyncio.sleep(0.05)
            report("loaded", t0, app, args)
            await asyncio.sleep(args.warm_s)
            report("+warm", t0, app, args)
            while app.analysing or app.rules_pending:
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.5)
            report("analysed", t0, app, args)
            await pilot.press("q")

    asyncio.run(run())


if __name__ == "__main__":
    main()
