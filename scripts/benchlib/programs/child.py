"""A child that says `ready PID` on stdout, then sleeps without ever waking by itself.

Each SIGTERM is answered with its CLOCK_MONOTONIC arrival time (ns) on stdout, and the child
keeps running, so one instance serves many forwarding samples; the bench ends it with SIGKILL.
"""

import os
import signal
import time


def _on_term(signum: int, frame: object) -> None:
    os.write(1, b"%d\n" % time.clock_gettime_ns(time.CLOCK_MONOTONIC))


def main() -> None:
    signal.signal(signal.SIGTERM, _on_term)
    os.write(1, b"ready %d\n" % os.getpid())
    while True:
        signal.pause()


main()
