"""pinit's own log lines: one line each on stderr, "pinit: " first, never fatal.

No `logging`: it costs PID 1 start time and takes locks that a signal-time caller could
deadlock on (gunicorn #3198); every caller here runs in the loop anyway.
"""

from __future__ import annotations

import sys


def say(message: str) -> None:
    try:
        sys.stderr.write(f"pinit: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # a closed or full stderr must not take PID 1 down
