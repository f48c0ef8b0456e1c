"""A supervised program: announces `PID START_NS` on the report FIFO, then sleeps.

usage: svc.py FIFO. The FIFO (not stdout) carries the line because every supervisor does
something different with a program's stdout; the line is shorter than PIPE_BUF, so lines
from 500 programs never interleave. START_NS is CLOCK_MONOTONIC once the interpreter runs.
"""

import os
import signal
import sys
import time


def main() -> None:
    started = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"%d %d\n" % (os.getpid(), started))
    os.close(fd)
    while True:
        signal.pause()


main()
