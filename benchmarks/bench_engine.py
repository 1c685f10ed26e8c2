"""Engine benchmark: ingest time, events/s, peak RSS, and query latencies.

    python benchmarks/bench_engine.py [--sizes 100000,1000000] [--repeat 3] [--runs 30]
    python benchmarks/bench_engine.py --sizes 10000000 --core --repeat 3   # 10M events

The 10M trail (10,000 files, ~1.9 GB gzip, ~12 GB of JSON) is generated once into
benchmarks/data/trail-10000000 (several minutes; check `df` first). `--core` skips the
path terms and the credential index, which at 10M cost minutes per run.

Generates the synthetic trails under benchmarks/data/ on first use (git-ignored).
Each ingest runs in a fresh child process so its peak RSS is its own; the child also
times the queries. Prints medians over --repeat ingests; latencies are p50/p95 over
--runs evaluations; filters are timed as the explorer computes them (a view: rows in time
order with their times and error flags). Also times a floor for comparison in the same run: gunzip +
orjson.loads of every file in one process, keeping nothing. Ingest reports the CPU seconds
of the main process and of the parser processes (what bounds it on two cores).
The credential index (minted keys, for `minted:`/`descends:`, Origin chains and cards) is
timed at its first use, then credential terms, `last:`, a chain and cards as latencies.
Path terms (PATHS) are timed at their first use, which scans the events and builds the
path's column (wall, and the CPU of all the process's threads), then as later filters
and facets over the kept column; the column's size and the RSS they add are printed.
`--phases` also prints the main process's CPU per event by phase of the ingest (median
over --repeat; timed by wrapping the store's methods, so a little slower).
`--python-path` also ingests with the C scan turned off (TRAILSCOPE_NATIVE=0), alternating
with the normal runs, and prints the ratio. `--against DIR` does the same with the code
of another checkout (e.g. `git worktree add /tmp/base <commit>`, with its C scan built or
copied in): an A/B in one sitting, which this noisy machine needs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

FILTERS = {
    "indexed filter": "service:s3.amazonaws.com",
    "indexed filter (3 terms)": 'cred:role-session -error:"" region:us-east-1',
    "wildcard filter": "principal:*admin*",
    "time window": "since:-6h",
}
TEXT = {
    "free text (rare)": "203.0.113.250",
    "free text (common)": "describeinstances",
}
# Path terms: (filter, the path's facet). The first use scans the events and builds
# the path's column; later filters and facets read the column.
PATHS = {
    "path: MFAUsed (rare)": ("additionalEventData.MFAUsed:No", "additionalEventData.MFAUsed"),
    "path: bucketName glob": (
        "requestParameters.bucketName:acme-logs-*",
        "requestParameters.bucketName",
    ),
    "path: minted key (173k distinct)": (
        "responseElements.credentials.accessKeyId:ASIA*Q7D",
        "responseElements.credentials.accessKeyId",
    ),
    "path: tlsVersion (common)": ("tlsDetails.tlsVersion:TLSv1.2", "tlsDetails.tlsVersion"),
    "path: resources.ARN (array)": ("resources.ARN:arn:aws:s3:::*", "resources.ARN"),
    "path: .requestID (1M distinct)": (
        ".requestID:0000a50-110a-41f1-a47e-0f6ce69d40cf",
        ".requestID",
    ),
}

CHILD = r"""
import json, os, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from tui.core.loader import load
from tui.core.query import parse
from tui.core.view import compute_view
path, runs, jobs = sys.argv[2], int(sys.argv[3]), (int(sys.argv[4]) or None)
filters, texts, paths = json.loads(sys.argv[5]), json.loads(sys.argv[6]), json.loads(sys.argv[7])
phases = {}
if os.environ.get("BENCH_PHASES"):  # --phases: the main process's CPU by phase
    import gc
    from multiprocessing.connection import Connection
    from tui.core.store import dedupe, dictionaries, ordered, store as store_mod
    def timed(owner, name, label):
        f = getattr(owner, name)
        def run(*a, **k):
            c = time.process_time()
            try:
                return f(*a, **k)
            finally:
                phases[label] = phases.get(label, 0.0) + time.process_time() - c
        setattr(owner, name, run)
    timed(Connection, "recv", "receiving batches (pipe, unpickling)")
    timed(dictionaries.Dictionaries, "learn", "merging new values into the dictionaries")
    timed(store_mod.Store, "commit", "commits")
    timed(dictionaries.Dictionaries, "store_codes", "  commits: code translation")
    timed(dedupe.Deduper, "sift", "  commits: dedupe")
    timed(ordered.TimeOrder, "merge", "  commits: time order")
    if hasattr(ordered.TimeOrder, "_catch_up"):  # a load merges the order once, at its end
        timed(ordered.TimeOrder, "_catch_up", "time order, merged at the end")
    def gc_time(phase, info, since=[0.0]):
        if phase == "start":
            since[0] = time.process_time()
        else:
            phases["cyclic GC"] = phases.get("cyclic GC", 0.0) + time.process_time() - since[0]
    gc.callbacks.append(gc_time)
t0 = time.perf_counter()
c0 = time.process_time()
store = load([path], jobs=jobs)
ingest = time.perf_counter() - t0
cpu_main = time.process_time() - c0
ch = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu_workers = ch.ru_utime + ch.ru_stime
if os.environ.get("BENCH_INGEST_ONLY"):
    print(json.dumps({"ingest_s": ingest, "cpu_main": cpu_main, "cpu_workers": cpu_workers,
                      "phases": dict(phases)}))
    sys.exit(0)
rss_main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024

def lat(fn):
    xs = []
    for _ in range(runs):
        s = time.perf_counter(); fn(); xs.append((time.perf_counter() - s) * 1000)
    xs.sort()
    return {"p50": xs[len(xs) // 2], "p95": xs[min(len(xs) - 1, int(len(xs) * 0.95))]}

out = {"events": len(store), "files": len(store.files), "ingest_s": ingest,
       "cpu_main": cpu_main, "cpu_workers": cpu_workers, "phases": dict(phases),
       "rss_main": rss_main, "rss_worker_max": rss_child, "lat": {}, "matches": {}}
# As the explorer does: a view (matching rows in time order, their times and error
# flags) evaluated over the store's time-ordered columns. The first use of a column
# builds it (once per commit), so each filter runs once before it is timed.
for name, text in filters.items():
    q = parse(text)
    out["matches"][name] = len(compute_view(store, q).rows)
    out["lat"][name] = lat(lambda: compute_view(store, q))
errors_view = compute_view(store, parse("has:error"))
def facets():
    errors_view.bins.clear()  # counted afresh each time
    getattr(errors_view, "tops", {}).clear()  # and the top values kept with them
    for f in ("service", "principal", "ip"):
        errors_view.facet(store, f, 50)
facets()
out["lat"]["facet counts (3 fields, filtered)"] = lat(facets)
out["lat"]["facet counts (3 fields, all)"] = lat(
    lambda: [store.counts(f, None, top=50) for f in ("service", "principal", "ip")])
for name, text in texts.items():
    q = parse('"%s"' % text)
    # Uncached each time (a checkout from before TextSearches kept them privately).
    forget = store.text.forget if hasattr(store, "text") else store._text_cache.clear
    def run():
        forget()
        return q.evaluate(store)
    out["matches"][name] = int(run().sum())
    xs = []
    for _ in range(max(3, runs // 6)):
        s = time.perf_counter(); run(); xs.append((time.perf_counter() - s) * 1000)
    xs.sort()
    out["lat"][name] = {"p50": xs[len(xs) // 2], "p95": xs[-1]}
out["rss_after_queries"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if os.environ.get("BENCH_CORE"):  # --core: no path terms, no credential index
    print(json.dumps(out))
    sys.exit(0)
rss_before_paths = out["rss_after_queries"]
# Path terms: the first use (a scan of every event; wall and the CPU of all threads),
# then later filters and a facet under another filter, from the kept column.
from tui.core.paths import parse_path
out["path_first"], out["path_mb"] = {}, {}
errors_view = compute_view(store, parse("has:error"))
for name, (text, facet) in paths.items():
    q = parse(text)
    s = time.perf_counter(); c = time.process_time()
    out["matches"][name] = len(compute_view(store, q).rows)
    out["path_first"][name] = {"wall": time.perf_counter() - s, "cpu": time.process_time() - c}
    out["lat"][name] = lat(lambda: compute_view(store, q))
    def path_facet():
        errors_view.path_bins.clear()
        errors_view.facet(store, facet, 50)
    path_facet()
    out["lat"][name + ", facet"] = lat(path_facet)
    out["path_mb"][name] = store.path_column(parse_path(facet)).nbytes / 2**20
out["rss_after_queries"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out["rss_paths_mb"] = (out["rss_after_queries"] - rss_before_paths) / 2**20
# Credentials: the first use builds the minted-key index (a scan of the minting
# events); then credential terms, last:, an Origin chain and cards read it.
from tui.core.cards import build_card
from tui.core.credentials import credentials_of
s = time.perf_counter(); c = time.process_time()
idx = credentials_of(store)
idx.catch_up()
out["creds_first"] = {"wall": time.perf_counter() - s, "cpu": time.process_time() - c,
                      "minted": len(idx)}
top_key = next(v for v, _ in store.counts("key", top=5) if v)
top_principal = next(v for v, _ in store.counts("principal", top=5) if v)
creds = {
    "descends:KEY (top key)": f'descends:"{top_key}"',
    "minted:ASIA*Q7D (glob)": "minted:ASIA*Q7D",
    "last:1h after principal glob": "principal:*admin* last:1h",
    "has:error last:30m": "has:error last:30m",
}
for name, text in creds.items():
    q = parse(text)
    out["matches"][name] = len(compute_view(store, q).rows)
    out["lat"][name] = lat(lambda: compute_view(store, q))
mint_row = int(store.ordered(parse("minted:*").evaluate(store))[-1])
out["lat"]["origin chain (one event)"] = lat(lambda: idx.chain(mint_row))
out["lat"]["card: top principal"] = lat(lambda: build_card(store, f'principal:"{top_principal}"'))
out["lat"]["card: top key"] = lat(lambda: build_card(store, f'key:"{top_key}"'))
print(json.dumps(out))
"""

FLOOR = r"""
import os, sys, time, orjson
from zlib_ng import zlib_ng
t0 = time.perf_counter(); n = 0
for dp, dn, fn in os.walk(sys.argv[1]):
    for f in fn:
        if f.endswith(".json.gz"):
            d = orjson.loads(zlib_ng.decompress(open(os.path.join(dp, f), "rb").read(), 47))
            n += len(d.get("Records", []))
print(time.perf_counter() - t0, n)
"""


def alternate_line(label: str, ratio: str, ingest: float, runs: list[dict]) -> str:
    """The summary of ingests alternated with the normal ones (--python-path, --against)."""
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    alt = med("ingest_s")
    each = ", ".join(f"{r['ingest_s']:.2f}" for r in runs)
    return (
        f"ingest with {label}: {alt:.2f} s [{each}]  "
        f"({ratio} = {ingest / alt:.2f}; CPU: main {med('cpu_main'):.2f} s, "
        f"parser processes {med('cpu_workers'):.2f} s)"
    )


def ensure_data(n: int, data_dir: Path) -> Path:
    out = data_dir / f"trail-{n}"
    marker = out / ".complete"
    if not marker.exists():
        from benchmarks.gen_trail import generate

        print(f"generating {n:,} events into {out} ...", file=sys.stderr)
        generate(out, n, seed=1)
        marker.write_text("ok")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=0, help="parser processes (0 = cores)")
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    ap.add_argument("--json", help="also write results here")
    ap.add_argument(
        "--python-path",
        action="store_true",
        help="also ingest with the C scan off, alternating, and print the ratio",
    )
    ap.add_argument(
        "--against",
        metavar="DIR",
        help="also ingest with the code in DIR (another checkout), alternating",
    )
    ap.add_argument(
        "--phases",
        action="store_true",
        help="also print the main process's ingest CPU by phase, per event",
    )
    ap.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the one-process gunzip+orjson floor (minutes at 10M)",
    )
    ap.add_argument(
        "--core",
        action="store_true",
        help="ingest, filters, facets and free text only (no path terms, no "
        "credential index): what a 10M run can afford",
    )
    args = ap.parse_args()
    if args.against and not list(Path(args.against, "tui", "core").glob("_scan*.so")):
        sys.exit(f"{args.against}: its C scan is not built (copy tui/core/_scan*.so in)")
    if args.core:
        os.environ["BENCH_CORE"] = "1"
    if args.phases:
        os.environ["BENCH_PHASES"] = "1"
    results = {}
    for n in [int(x) for x in args.sizes.split(",")]:
        path = ensure_data(n, Path(args.data_dir))
        du = sum(f.stat().st_size for f in path.rglob("*.gz"))
        runs, py_runs, other_runs = [], [], []
        child = [
            sys.executable,
            "-c",
            CHILD,
            str(ROOT),
            str(path),
            str(args.runs),
            str(args.jobs),
            json.dumps(FILTERS),
            json.dumps(TEXT),
            json.dumps(PATHS),
        ]
        for _ in range(args.repeat):
            p = subprocess.run(child, capture_output=True, text=True, check=True)
            runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
            if args.python_path:
                env = {**os.environ, "TRAILSCOPE_NATIVE": "0", "BENCH_INGEST_ONLY": "1"}
                p = subprocess.run(child, capture_output=True, text=True, check=True, env=env)
                py_runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
            if args.against:
                env = {**os.environ, "BENCH_INGEST_ONLY": "1"}
                p = subprocess.run(
                    [*child[:3], str(Path(args.against).resolve()), *child[4:]],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=env,
                )
                other_runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
        floor = (
            [float("nan")]
            if args.no_floor
            else subprocess.run(
                [sys.executable, "-c", FLOOR, str(path)], capture_output=True, text=True, check=True
            ).stdout.split()
        )
        med = lambda k, runs=runs: statistics.median(r[k] for r in runs)  # noqa: E731
        r0 = runs[0]
        ingest = med("ingest_s")
        res = {
            "events": r0["events"],
            "files": r0["files"],
            "gz_bytes": du,
            "ingest_s_median": ingest,
            "ingest_s_all": [r["ingest_s"] for r in runs],
            "events_per_s": r0["events"] / ingest,
            "peak_rss_main_mb": med("rss_main") / 2**20,
            "peak_rss_worker_mb": med("rss_worker_max") / 2**20,
            "peak_rss_after_queries_mb": med("rss_after_queries") / 2**20,
            "floor_gunzip_orjson_1proc_s": float(floor[0]),
            "lat_ms": {
                k: {q: statistics.median(r["lat"][k][q] for r in runs) for q in ("p50", "p95")}
                for k in r0["lat"]
            },
            "matches": r0["matches"],
        }
        if not args.core:
            res.update(
                {
                    "path_first_s": {
                        k: {
                            q: statistics.median(r["path_first"][k][q] for r in runs)
                            for q in ("wall", "cpu")
                        }
                        for k in r0["path_first"]
                    },
                    "path_column_mb": r0["path_mb"],
                    "rss_growth_paths_mb": med("rss_paths_mb"),
                    "creds_first_s": {
                        q: statistics.median(r["creds_first"][q] for r in runs)
                        for q in ("wall", "cpu")
                    },
                    "creds_minted": r0["creds_first"]["minted"],
                }
            )
        results[n] = res
        print(f"\n== {n:,} events ({r0['files']} files, {du / 2**20:.0f} MiB gz) ==")
        print(
            f"ingest (median of {args.repeat}): {ingest:.2f} s   "
            f"[{', '.join(f'{x:.2f}' for x in res['ingest_s_all'])}]  "
            f"{res['events_per_s']:,.0f} events/s"
        )
        print(
            f"ingest CPU: main {med('cpu_main'):.2f} s, parser processes {med('cpu_workers'):.2f} s"
        )
        if args.phases:
            print("main process CPU by phase, per event:")
            for k in r0["phases"]:
                v = statistics.median(r["phases"].get(k, 0.0) for r in runs)
                print(f"  {k:46s} {v:7.2f} s  {v / r0['events'] * 1e6:5.2f} us")
        for label, ratio, key, alt in (
            ("the C scan off", "C scan / off", "python_path_ingest_s_all", py_runs),
            (args.against, "this / that", "against_ingest_s_all", other_runs),
        ):
            if alt:
                res[key] = [r["ingest_s"] for r in alt]
                print(alternate_line(label, ratio, ingest, alt))
        if not args.no_floor:
            print(
                f"floor: gunzip+orjson.loads, 1 process, nothing kept: {res['floor_gunzip_orjson_1proc_s']:.2f} s"
                f"  (ingest/floor = {ingest / res['floor_gunzip_orjson_1proc_s']:.2f})"
            )
        print(
            f"peak RSS: main {res['peak_rss_main_mb']:.0f} MB (after queries "
            f"{res['peak_rss_after_queries_mb']:.0f} MB), each parser worker <= "
            f"{res['peak_rss_worker_mb']:.0f} MB"
        )
        for k, v in res["lat_ms"].items():
            m = res["matches"].get(k)
            print(
                f"  {k:38s} p50 {v['p50']:8.2f} ms   p95 {v['p95']:8.2f} ms"
                + (f"   ({m:,} matches)" if m is not None else "")
            )
        if args.core:
            continue
        print(f"path terms, first use (median of {args.repeat}; CPU of all threads), column size:")
        for k, v in res["path_first_s"].items():
            print(
                f"  {k:38s} {v['wall']:6.2f} s  (CPU {v['cpu']:5.2f} s)   "
                f"column {res['path_column_mb'][k]:6.1f} MB"
            )
        print(f"  peak RSS growth over the path terms: {res['rss_growth_paths_mb']:.0f} MB")
        cf = res["creds_first_s"]
        print(
            f"credential index, first use (median of {args.repeat}): {cf['wall']:.2f} s "
            f"(CPU {cf['cpu']:.2f} s), {res['creds_minted']:,} minting records"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
