from .cli import main

if __name__ == "__main__":  # spawned parser processes import this module too
    raise SystemExit(main())
