"""`python -m pinit` is the same entry point as the `pinit` console script."""

import sys

from pinit.cli import main

sys.exit(main())
