"""The engine must be usable headless: importing it pulls in no Textual or Rich."""

import os
import subprocess
import sys


def test_engine_imports_no_textual_or_rich():
    code = (
        "import sys, pkgutil, importlib, tui.core\n"
        "for m in pkgutil.iter_modules(tui.core.__path__):\n"
        "    importlib.import_module('tui.core.' + m.name)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('textual', 'rich'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_parser_processes_import_only_the_parsing_modules():
    """A spawned parser process imports `parser_side` (its target's module): that must
    not pull in the store, query, discovery or CLI code, whose imports every parser
    process would pay for before its first file."""
    code = (
        "import sys, tui.core.parser_side\n"
        "heavy = ('tui.core.store', 'tui.core.query', 'tui.core.discovery', 'tui.core.loader',\n"
        "         'tui.core.textsearch', 'tui.cli', 'textual')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_the_command_entry_point_imports_nothing_until_run():
    """Spawned parser processes re-import the script that started the parent; the
    `trailscope` script imports its entry point's module, which must stay light."""
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "trailscope"]
    module = ep.value.split(":")[0]
    code = f"import sys, {module}\nprint(sorted(m for m in sys.modules if m.startswith('tui')))\n"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(sorted({"tui", module}))


def test_trailscope_keeps_openblas_to_one_thread_unless_told():
    """Our package, imported first (the CLI imports numpy before the engine), stops
    OpenBLAS starting its (spinning) thread pool; a value the user set is kept."""
    code = (
        "import os, tui.cli, numpy\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "1"]  # one thread: the main one
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "OPENBLAS_NUM_THREADS": "3"},
    )
    assert p.stdout.split()[0] == "3"
