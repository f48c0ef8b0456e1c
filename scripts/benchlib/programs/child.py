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
    # Not signal.pause(): a SIGTERM landing between CPython's handler check and pause(2)
    # would go unanswered until the next one. The wakeup fd's byte waits in the pipe.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    os.write(1, b"ready %d\n" % os.getpid())
    while True:
        os.read(wake_r, 512)


main()
