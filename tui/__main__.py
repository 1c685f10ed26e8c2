"""`python -m tui`, and the `trailscope` command's entry point.

Parser processes are spawned, and a spawned process first re-imports the module
that started its parent (as `__mp_main__`): here that is this module, or the console
script, which imports `main` from this module. So this module imports nothing at
the top; with the CLI's imports, each parser process spent 0.23 s of CPU before its
first file instead of 0.17 s.
"""


def main() -> int:
    from . import cli

    cli.keep_loaded()
    try:
        return cli.main()
    finally:
        cli.leave_to_exit()  # the process ends now: no need to free the trail


if __name__ == "__main__":
    raise SystemExit(main())
