"""Entry script of the frozen pinit: the same entry point as the `pinit` console script."""

import sys

from pinit.cli import main

if __name__ == "__main__":
    sys.exit(main())
