"""Which rules run: the built-in pack, plus Sigma rules from the folders named on the
command line (`--rules DIR`) and in the user's config file.

The config file is `$XDG_CONFIG_HOME/trailscope/config.toml` (by default
`~/.config/trailscope/config.toml`), TOML, one setting so far:

    # Sigma rule folders or files, loaded on every run (~ and relative paths allowed;
    # a relative path is relative to this file's folder)
    rules = ["~/sigma/rules/cloud/aws"]
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .rules import Rule, load_pack

__all__ = ["ConfigError", "RuleSet", "config_path", "configured_rule_paths", "rule_set"]


class ConfigError(ValueError):
    """The config file cannot be used; the message names it and says why."""


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "trailscope" / "config.toml"


def configured_rule_paths(path: Path | None = None) -> list[str]:
    """The `rules` setting of the config file ([] when there is no file)."""
    path = config_path() if path is None else path
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from None
    value = data.get("rules", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: rules = [...] holds folder or file names (text)")
    unknown = sorted(set(data) - {"rules"})
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: rules)")
    return [str((path.parent / os.path.expanduser(v)).resolve()) for v in value]


@dataclass
class RuleSet:
    rules: list[Rule]
    outcomes: list = field(default_factory=list)  # sigma.Outcome per Sigma rule or file

    @property
    def skipped(self) -> list:
        return [o for o in self.outcomes if o.rule is None]


def rule_set(
    paths: Sequence[str] = (), *, builtin: bool = True, use_config: bool = True
) -> RuleSet:
    """The built-in pack (unless `builtin` is False) and the Sigma rules under `paths`
    and the config file's `rules`. Raises ConfigError."""
    rules = list(load_pack()) if builtin else []
    every = [*(configured_rule_paths() if use_config else []), *paths]
    if not every:
        return RuleSet(rules)
    from .sigma import load_paths

    outcomes = load_paths(every)
    rules.extend(o.rule for o in outcomes if o.rule is not None)
    return RuleSet(rules, outcomes)
