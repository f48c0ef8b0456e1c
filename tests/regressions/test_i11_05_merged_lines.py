"""Issue 11.5: under back-pressure, a run's unterminated last line was glued to the next run's.

`exited` left a paused stream alone, its carried partial line too; the next run writes into
the same pipe, so on resume "last words" + "second run" became one line. Now the run's end is
marked at its offset in the pipe and the partial line is ended there, paused or not.

Back-pressure is made deterministic: passthrough to pinit's stdout, a pipe this test does not
read, and a flooding program; the test then checks in /proc that pinit took the flooding
pipe out of its epoll set (paused) before the crashing program runs, and that the crashing
program's pipe was paused too, before it reads anything.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import start
from tests.integration.test_identity import wait_for_exec
from tests.integration.test_logs import wait_for

# `$$$$` is `$$` after pinit's own expansion. The tests read the programs' fd 1 only after
# their exec: while dash runs `echo >>`, its fd 1 is the events FIFO.
FLOOD = 'echo "flood start $$$$ 0" >> "$EVENTS"; exec yes flood-line-of-some-length'
CRASH_ONCE = """\
if [ -e "$MARK" ]; then
  printf 'second run\\n'
  echo "crash second $$ 0" >> "$EVENTS"
  exec sleep 1000
fi
touch "$MARK"
echo "crash start $$ 0" >> "$EVENTS"
read go < "$GO"
if [ "$SPLIT" = 1 ]; then
  printf 'first\\n'
  read go < "$GO2"
  printf 'last words'
else
  printf 'first\\nlast words'
fi
exit 1
"""


def watched_fds(pid: int) -> set[int]:
    """The fds in the process's epoll set(s), from /proc/PID/fdinfo."""
    watched: set[int] = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:[eventpoll]":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                watched |= {int(line.split()[1]) for line in f if line.startswith("tfd:")}
        except OSError:
            continue
    return watched


def paused(pinit_pid: int, program_pid: int) -> bool:
    """pinit no longer polls the pipe on the program's stdout: that stream is paused."""
    pipe = os.readlink(f"/proc/{program_pid}/fd/1")
    ends = set()
    for fd in os.listdir(f"/proc/{pinit_pid}/fd"):
        try:
            if os.readlink(f"/proc/{pinit_pid}/fd/{fd}") == pipe:
                ends.add(int(fd))
        except OSError:
            continue
    assert ends, f"pinit holds no end of {pipe}"
    return not ends & watched_fds(pinit_pid)


@pytest.mark.parametrize("split", [False, True], ids=["read-at-exit", "unread-at-exit"])
def test_an_exit_ends_the_partial_line_while_the_stream_is_paused(
    launch: type[Launch], tmp_path: Path, split: bool
) -> None:
    """read-at-exit: pinit read "first\\nlast words" and paused on "first", then the exit.
    unread-at-exit: paused on "first", then "last words" and the exit: the partial line is
    still in the pipe, before the next run's output, and is ended at its FIONREAD mark."""
    go, go2 = tmp_path / "go.fifo", tmp_path / "go2.fifo"  # two: a FIFO reopened at once
    os.mkfifo(go)  # by the reader could still see the test's first open and read its EOF
    os.mkfifo(go2)
    crash = tmp_path / "crash.sh"
    crash.write_text(CRASH_ONCE)
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.flood]
        command = ["sh", "-c", '{FLOOD}']
        stdout = {{ passthrough = true }}

        [programs.crash]
        command = ["sh", "{crash}"]
        backoff = {{ initial = "10ms" }}
        stdout = {{ passthrough = true }}
        [programs.crash.environment]
        MARK = "{tmp_path / "mark"}"
        GO = "{go}"
        GO2 = "{go2}"
        SPLIT = "{int(split)}"
        """,
        mode="plain",
    )
    flood = events.wait("flood", "start")
    wait_for_exec(flood.pid, "yes")
    first = events.wait("crash", "start")
    wait_for(lambda: paused(pinit.proc.pid, flood.pid), 20, "the flood was never paused")
    with open(go, "w") as f:  # the writer is over its bound and stays there: stdout is unread
        f.write("go\n")
    if split:
        wait_for(lambda: paused(pinit.proc.pid, first.pid), 10, "crash never paused")
        with open(go2, "w") as f:
            f.write("go\n")
    second = events.wait("crash", "second")
    assert second.pid != first.pid
    wait_for_exec(second.pid, "sleep")
    assert paused(pinit.proc.pid, second.pid)  # so the first run's exit met a paused stream
    got = []
    while "second run" not in (line := pinit.readline()):  # reading stdout resumes it all
        if not line.startswith("flood | "):
            got.append(line)
    got.append(line)
    assert got == ["crash | first", "crash | last words", "crash | second run"]
    pinit.signal(signal.SIGTERM)
    assert pinit.finish(timeout=30)[0] == 0
