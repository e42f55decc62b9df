"""``python -m zkvm``: the same command line as the ``zkvm`` console script."""

from zkvm.entry import main

if __name__ == "__main__":
    main()
