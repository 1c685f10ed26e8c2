"""Checks a rule adds to its filter: comparisons between values of one event that the
filter language cannot spell (rules.CHECKS). They run over a rule's few remaining
events, on the values the engine gathered for them (lower-cased, as path columns keep
them)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

import numpy as np

from ..pause import PauseGate, checkpointed
from .rules import Check

if TYPE_CHECKING:
    from ..store import Store
    from .engine import Evidence

__all__ = ["accounts_named", "run_check"]

_ARN_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
_AWS_PRINCIPAL = re.compile(r'"aws"\s*:\s*\[?\s*"(\d{12}|\*)"')
_ANY_PRINCIPAL = re.compile(r'"principal"\s*:\s*"\*"|"aws"\s*:\s*\[?\s*"\*"')
_EVERYONE = frozenset({"*", "all"})


def accounts_named(value: str) -> tuple[set[str], bool]:
    """(12-digit accounts `value` names, whether it grants everyone). `value` is a bare
    account id, `*`/`all`, an ARN, or a policy document (JSON, perhaps URL-encoded as IAM
    writes some of them), lower-cased."""
    v = value.strip()
    if v in _EVERYONE:
        return set(), True
    if len(v) == 12 and v.isdigit():
        return {v}, False
    if "%" in v:
        v = unquote(v)
    found = set(_ARN_ACCOUNT.findall(v))
    found.update(a for a in _AWS_PRINCIPAL.findall(v) if a != "*")
    return found, _ANY_PRINCIPAL.search(v) is not None


def _at(node: object, key: tuple) -> list:
    """What `key` (a Path.key, lower-cased) reaches in a lower-cased event: objects and
    values, looking through arrays."""
    found = [node]
    for seg in key:
        nxt: list = []
        for x in found:
            items = x if isinstance(x, list) and not isinstance(seg, int) else [x]
            for it in items:
                if isinstance(seg, int):
                    if isinstance(it, list) and seg < len(it):
                        nxt.append(it[seg])
                elif isinstance(it, dict) and seg in it:
                    nxt.append(it[seg])
        found = nxt
    return found


def public_policy(doc: object) -> bool:
    """Whether a policy document (lower-cased; an object, or JSON text, URL-encoded or
    not) has an Allow statement for any principal with no condition."""
    if isinstance(doc, str):
        text = unquote(doc) if "%7b" in doc else doc
        try:
            doc = json.loads(text)
        except ValueError:
            return False
    if not isinstance(doc, dict):
        return False
    stmts = doc.get("statement")
    for st in stmts if isinstance(stmts, list) else [stmts]:
        if not isinstance(st, dict) or st.get("effect") != "allow" or st.get("condition"):
            continue
        who = st.get("principal")
        if who == "*":
            return True
        if isinstance(who, dict):
            aws = who.get("aws")
            if aws == "*" or (isinstance(aws, list) and "*" in aws):
                return True
    return False


def run_check(
    check: Check, store: Store, evidence: Evidence, rows: np.ndarray, gate: PauseGate | None = None
) -> np.ndarray:
    """Which of `rows` (sorted) pass `check`; with `gate`, a pause checkpoint every
    few hundred events (each is Python: a decoded event, a policy parsed)."""
    if check.kind == "public-policy":
        key = check.paths[0].key
        return np.array(
            [
                any(public_policy(d) for d in _at(evidence.event(r), key))
                for r in checkpointed(rows.tolist(), gate)
            ],
            bool,
        )
    if check.kind == "other-than":
        mine = evidence.values(check.paths[0], rows)
        theirs = evidence.values(check.paths[1], rows)
        pairs = checkpointed(zip(mine, theirs, strict=True), gate)
        return np.array([bool(a) and not (set(a) & set(b)) for a, b in pairs], bool)
    # foreign-account
    per_path = [evidence.values(p, rows) for p in check.paths]
    own = store.codes("account")[rows]
    names = store.values("account")
    out = np.zeros(len(rows), bool)
    for i in checkpointed(range(len(rows)), gate):
        home = names[own[i]]
        for v in (v for vals in per_path for v in vals[i]):
            accounts, everyone = accounts_named(v)
            if everyone or (accounts - {home}):
                out[i] = True
                break
    return out
