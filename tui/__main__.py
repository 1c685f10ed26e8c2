"""`python -m tui`, and the `trailscope` command's entry point.

Parser processes are spawned, and a spawned process first re-imports the module
that started its parent (as `__mp_main__`): here that is this module, or the console
script, which imports `main` from this module. So this module imports nothing at
the top; the CLI's imports would cost every parser process ~40 ms before its first
file.
"""


def main() -> int:
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
