"""A tiny child program for the integration tests: it reports what it observes.

Each mode prints one line per observation on stdout, unbuffered, so a test can wait for a
line instead of sleeping (dumb-init's test helpers work the same way).

  probe.py signals N [--grandchild]   echo the next N signals (by sigwaitinfo), then exit 0
  probe.py orphans N                  double-fork N orphans, exit 0 once none is a zombie
  probe.py adopt                      print the pid a grandchild is re-parented to
  probe.py tty                        print whether we own the terminal's foreground
  probe.py leave-behind MARK          start a TERM-ignoring setsid grandchild, then exit 0
"""

from __future__ import annotations

import os
import signal
import sys
import time

CATCHABLE = sorted(
    s
    for s in signal.valid_signals()
    if s
    not in {
        signal.SIGKILL,
        signal.SIGSTOP,
        signal.SIGCHLD,
        signal.SIGTTIN,
        signal.SIGTTOU,
        signal.SIGSEGV,
        signal.SIGBUS,
        signal.SIGILL,
        signal.SIGFPE,
        signal.SIGABRT,
        signal.SIGTRAP,
        signal.SIGSYS,
        signal.SIGPIPE,
        signal.SIGXFSZ,
    }
)


def say(text: str) -> None:
    os.write(1, (text + "\n").encode())


def signals(count: int, grandchild: bool) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, CATCHABLE)
    role = "child"
    if grandchild and os.fork() == 0:
        role = "grandchild"
    say(f"ready {role} {os.getpid()} pgid {os.getpgrp()}")
    for _ in range(count):
        info = signal.sigwaitinfo(CATCHABLE)
        say(f"{role} got {info.si_signo} from {info.si_pid}")
    if role == "child" and grandchild:
        os.waitpid(-1, 0)
    os._exit(0)


def zombies() -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        if data[data.rfind(b")") + 2 :].split()[0] == b"Z":
            count += 1
    return count


def orphans(count: int) -> None:
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    say(f"spawned {count}")
    deadline = time.monotonic() + 5
    while (left := zombies()) and time.monotonic() < deadline:
        time.sleep(0.01)
    say(f"zombies {left}")
    os._exit(0 if left == 0 else 1)


def adopt() -> None:
    gone_r, gone_w = os.pipe()  # EOF for the grandchild once the middle process exited
    done_r, done_w = os.pipe()  # EOF for us once the grandchild has reported and exited
    middle = os.fork()
    if middle == 0:
        if os.fork() == 0:
            os.close(gone_w)
            os.close(done_r)
            os.read(gone_r, 1)
            # Our parent exited; the kernel re-parents us to the nearest subreaper or PID 1.
            while os.getppid() == middle:
                time.sleep(0.001)
            say(f"adopted-by {os.getppid()} init {init_pid}")
            os._exit(0)
        os._exit(0)
    os.close(gone_r)
    os.close(done_w)
    os.waitpid(middle, 0)
    os.close(gone_w)
    os.read(done_r, 1)
    os._exit(0)


def tty() -> None:
    try:
        owner = os.tcgetpgrp(0)
    except OSError as exc:
        say(f"tty error {exc}")
        os._exit(1)
    say(f"foreground {owner == os.getpgrp()}")
    signal.pause()  # Ctrl-C on the terminal ends us with SIGINT


def leave_behind(mark: str) -> None:
    execd_r, execd_w = os.pipe2(os.O_CLOEXEC)  # EOF once the stray has exec'd
    if os.fork() == 0:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)  # so a surviving stray does not hold the test's pipes open
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.execvp("sleep", ["sleep", mark])
    os.close(execd_w)
    os.read(execd_r, 1)
    say("left")
    os._exit(0)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    init_pid = os.getppid()
    if mode == "signals":
        signals(int(rest[0]), "--grandchild" in rest)
    elif mode == "orphans":
        orphans(int(rest[0]))
    elif mode == "adopt":
        adopt()
    elif mode == "tty":
        tty()
    elif mode == "leave-behind":
        leave_behind(rest[0])
    else:
        sys.exit(f"unknown mode {mode}")
