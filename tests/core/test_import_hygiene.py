"""The engine must be usable headless: importing it pulls in no Textual or Rich."""

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
