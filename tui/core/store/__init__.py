"""The in-memory event store: dictionary-coded columns, time order, dedupe, search.

Layout: one row per stored event, in arrival order. Each indexed field is an int32
column of codes into that field's value dictionary, so a filter is a vectorised
compare and a facet is a bincount. `order` lists rows sorted by (eventTime, eventID).
Each file keeps its events' canonical JSON twice, zstd-compressed: in original case
(the detail view and jsonl export slice it) and ASCII-lowercased (free-text search).

`Store` (store.py) is what the rest of the code uses; it wires these parts:

    arrays.py        growable arrays: Column (appends), SortedArray (sorted inserts)
    dictionaries.py  the indexed fields' values and codes, encoder code translation
    columns.py       EventColumns: the per-row columns
    files.py         FileInfo and FileRegistry: files by id and path, walk errors,
                     the status line's counts and the Skipped list
    originals.py     the events' original JSON (read back from disk for gzip files)
    dedupe.py        Deduper and its eventID index: re-deliveries stored once
    ordered.py       TimeOrder: rows in time order and the time-ordered columns
    masks.py         the query-target masks, in store order and in time order
    text.py          free-text searches, answers kept per phrase

The numpy kernels they use (facet counts, sorted inserts) are in `tui.core.kernels`.
"""

from .dictionaries import top_values
from .files import FileInfo
from .masks import AnnotationSource, TimeOrdered, ip_kind
from .originals import OriginalUnavailable
from .store import CommitResult, StagedCommit, Store

__all__ = [
    "AnnotationSource",
    "CommitResult",
    "FileInfo",
    "OriginalUnavailable",
    "StagedCommit",
    "Store",
    "TimeOrdered",
    "ip_kind",
    "top_values",
]
