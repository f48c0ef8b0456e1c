"""The program under a signal storm (issue 11 soak): counts what reaches it, makes orphans.

  storm.py CONTROL_FIFO

Counts SIGUSR1, SIGUSR2 and SIGWINCH; meanwhile double-forks an orphan every few ms, so the
init gets a steady SIGCHLD stream from exiting children it adopted. A line on CONTROL_FIFO
ends the orphan making: it then waits (bounded) until no zombie is left in its PID namespace
and prints "zombies N". SIGTERM prints the counts and exits 7, an exit status of its own so the
test can see it pass through the init.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

COUNTED = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)
counts = dict.fromkeys(COUNTED, 0)


def say(text: str) -> None:
    os.write(1, (text + "\n").encode())


def count(signum: int, frame: object) -> None:
    counts[signal.Signals(signum)] += 1


def term(signum: int, frame: object) -> None:
    say("term " + " ".join(f"{s.name}={n}" for s, n in counts.items()))
    os._exit(7)


def orphan() -> None:
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except InterruptedError:
            continue
        except ChildProcessError:
            return


def zombies() -> int:
    found = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            found += data[data.rfind(b")") + 2 :].split()[0] == b"Z"
    return found


def main() -> None:
    for sig in COUNTED:
        signal.signal(sig, count)
    signal.signal(signal.SIGTERM, term)
    control = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
    keep = os.open(sys.argv[1], os.O_WRONLY)  # so the FIFO never reads as EOF
    say(f"ready {os.getpid()}")
    while not select.select([control], [], [], 0.005)[0]:
        orphan()
    os.close(keep)
    # A zombie's reaping by pinit raises no event for this program (it is not the parent):
    # a bounded look at /proc is the only way to see it happen.
    deadline = time.monotonic() + 5
    while (left := zombies()) and time.monotonic() < deadline:
        time.sleep(0.01)
    say(f"zombies {left}")
    wait_for_signals()


def wait_for_signals() -> None:
    """Sleep until killed, running handlers as signals come. Not `signal.pause()`: a signal
    that lands after CPython's last check for handlers but before pause(2) is entered leaves
    pause asleep until the next signal (this test's final SIGTERM was lost so, about one run
    in five, in the `pinit -- CMD` case where it follows the program's last line within
    microseconds). With a wakeup fd the signal's byte waits in the pipe, so the read returns."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    while True:
        os.read(wake_r, 512)


if __name__ == "__main__":
    main()
