"""Reference texts shipped with the package: `trailscope help TOPIC` prints them and the
explorer's help screen (`?`) shows them.

The query reference is tui/query.md (package data, so it is in the sdist and the
wheel); docs/query.md is the same text for readers of the repository: edit
tui/query.md and copy it over (tests/test_help.py fails while they differ).
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["TOPICS", "topic_text"]

# topic -> (file in this package, one line for `trailscope help`)
TOPICS: dict[str, tuple[str, str]] = {
    "query": ("query.md", "the filter language: fields, paths, free text, time, examples"),
}


def topic_text(topic: str) -> str:
    """The reference text of `topic` (a key of TOPICS), as Markdown."""
    name, _ = TOPICS[topic]
    return files(__package__).joinpath(name).read_text(encoding="utf-8")
