"""The child of the crash tests (test_case_crash.py): writes a case file or the filter
history action after action, printing each action's number once it has returned, until
it is killed. The parent replays the same actions on a model to know what the file must
hold. Imports only the standard-library-only modules, so it starts fast.

    python -m tests.core.crash_writer case PATH SEED
    python -m tests.core.crash_writer history PATH SEED
"""

from __future__ import annotations

import random
import sys

from tui.core.case import Case, EventKey, EventRecord
from tui.core.history import FilterHistory

LABELS = ("suspicious", "benign", "ioc")
HISTORY_LIMIT = 40
ACTIONS = 5000  # more than a run lives: the parent kills it long before the end


def case_actions(seed: int, n: int = ACTIONS) -> list[tuple]:
    rng = random.Random(seed)
    keys = [
        EventKey(f"ev-{i:04d}", 1_795_000_000_000 + i * 1000, f"Call{i % 4}") for i in range(10)
    ]
    out: list[tuple] = []
    for i in range(n):
        k = rng.choice(keys)
        r = rng.random()
        if r < 0.4:
            out.append(("mark", k, rng.choice(LABELS)))
        elif r < 0.6:
            out.append(("unmark", k, rng.choice(LABELS)))
        elif r < 0.85:
            # Notes of some size, so a write spans several pages now and then.
            text = "" if rng.random() < 0.2 else f"note {i}\n" + "x" * rng.choice((10, 3000, 9000))
            out.append(("note", k, text))
        elif r < 0.95:
            out.append(("save", f"filter{rng.randrange(4)}", f"event:Call{i % 4} since:-{i}m"))
        else:
            out.append(("delete", f"filter{rng.randrange(4)}"))
    return out


def case_model(actions: list[tuple]) -> tuple[dict, dict]:
    """({key: (labels, note)}, {filter name: text}) after `actions`."""
    labels: dict[EventKey, set[str]] = {}
    notes: dict[EventKey, str] = {}
    filters: dict[str, str] = {}
    for a in actions:
        if a[0] == "mark":
            labels.setdefault(a[1], set()).add(a[2])
        elif a[0] == "unmark":
            labels.get(a[1], set()).discard(a[2])
        elif a[0] == "note":
            if a[2].strip():
                notes[a[1]] = a[2]
            else:
                notes.pop(a[1], None)
        elif a[0] == "save":
            filters[a[1]] = a[2]
        else:
            filters.pop(a[1], None)
    events = {
        k: (frozenset(labels.get(k, ())), notes.get(k))
        for k in set(labels) | set(notes)
        if labels.get(k) or k in notes
    }
    return events, filters


def case_state(case: Case) -> tuple[dict, dict]:
    events = {
        e.key: (frozenset(e.labels), None if e.note is None else e.note.text) for e in case.events()
    }
    return events, {f.name: f.filter for f in case.saved_filters()}


def history_actions(seed: int, n: int = ACTIONS) -> list[str]:
    rng = random.Random(seed)
    # Repeats (moved to the end), and characters a text format could trip on.
    return [
        f'service:s{rng.randrange(60)} "x\\"y" \x1b[31m \u202e\n{"z" * rng.choice((1, 500))}'
        for _ in range(n)
    ]


def history_model(adds: list[str]) -> list[str]:
    out: list[str] = []
    for t in adds:
        t = t.strip()
        out = [e for e in out if e != t]
        out.append(t)
    return out[-HISTORY_LIMIT:]


def _ack(i: int) -> None:
    sys.stdout.write(f"{i}\n")
    sys.stdout.flush()


def run_case(path: str, seed: int) -> None:
    case = Case.open(path)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for i, a in enumerate(case_actions(seed)):
        if a[0] == "mark":
            case.mark(EventRecord(a[1], original=b"{}"), a[2], "has:error")
        elif a[0] == "unmark":
            case.unmark(a[1], a[2])
        elif a[0] == "note":
            case.set_note(EventRecord(a[1]), a[2])
        elif a[0] == "save":
            case.save_filter(a[1], a[2])
        else:
            case.delete_filter(a[1])
        _ack(i)


def run_history(path: str, seed: int) -> None:
    h = FilterHistory(path, limit=HISTORY_LIMIT)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for i, text in enumerate(history_actions(seed)):
        if not h.add(text):
            raise SystemExit(h.error)
        _ack(i)


if __name__ == "__main__":
    kind, path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    (run_case if kind == "case" else run_history)(path, seed)
