"""Log capture with real programs: passthrough, shared files, rotation, crashes, back-pressure.

The programs are the small `TALK` script below, written next to each test's config: it
writes numbered lines in odd-sized chunks (so pinit sees partial lines on every read) and
reports on the events FIFO of tests/integration/supervise.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import Event, Events, start

TALK = r"""
import os, random, signal, sys, time

def record(name, what):
    line = f"{name} {what} {os.getpid()} {time.monotonic_ns()}\n".encode()
    fd = os.open(os.environ["EVENTS"], os.O_WRONLY | os.O_APPEND)
    os.write(fd, line)
    os.close(fd)

def line(tag, stream, i):
    return b"%s %s %08d %s\n" % (tag.encode(), stream, i, b"x" * (i % 50))

mode, tag, *rest = sys.argv[1:]
if mode == "count":  # N numbered lines on stdout and N on stderr, chunks cut anywhere
    n = int(rest[0])
    rng = random.Random(tag)
    data = {1: b"".join(line(tag, b"out", i) for i in range(n)),
            2: b"".join(line(tag, b"err", i) for i in range(n))}
    pos = {1: 0, 2: 0}
    while pos[1] < len(data[1]) or pos[2] < len(data[2]):
        fd = rng.choice([f for f in (1, 2) if pos[f] < len(data[f])])
        size = rng.randint(1, 300)
        pos[fd] += os.write(fd, data[fd][pos[fd]:pos[fd] + size])
    record(tag, "done")
elif mode == "forever":  # 97-byte lines until SIGTERM, which reports how many were written
    written = 0
    def on_term(signum, frame):
        record(tag, f"term-{written}")
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    record(tag, "start")
    while True:
        os.write(1, b"%s %010d %s\n" % (tag.encode(), written, b"y" * (96 - 12 - len(tag))))
        written += 1
elif mode == "crash":  # a last line, then one without a newline, then exit 1
    os.write(1, b"first\n")
    os.write(2, b"last words")
    os._exit(1)
elif mode == "bye":  # a line at start, one on SIGTERM
    def on_term(signum, frame):
        os.write(1, b"bye\n")
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    os.write(1, b"hello\n")
    record(tag, "start")
    wake_r, wake_w = os.pipe()  # not signal.pause(): see tests/programs/storm.py
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    while True:
        os.read(wake_r, 512)
elif mode == "ping":  # one line per SIGUSR1
    count = 0
    def on_usr1(signum, frame):
        global count
        count += 1
        os.write(1, b"ping %d\n" % count)
        record(tag, f"ping-{count}")
    signal.signal(signal.SIGUSR1, on_usr1)
    record(tag, "start")
    wake_r, wake_w = os.pipe()  # not signal.pause(): see tests/programs/storm.py
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    while True:
        os.read(wake_r, 512)
"""

LINE = re.compile(rb"^(\w+) (out|err) (\d{8}) (x*)$")


def talk(tmp_path: Path, *args: str) -> str:
    script = tmp_path / "talk.py"
    if not script.exists():
        script.write_text(TALK)
    argv = [sys.executable, "-I", "-S", str(script), *args]
    return "[" + ", ".join(f'"{a}"' for a in argv) + "]"


def check_numbered(lines: list[bytes]) -> dict[tuple[bytes, bytes], list[int]]:
    """Every line well-formed (none torn or merged); the numbers per (program, stream)."""
    seen: dict[tuple[bytes, bytes], list[int]] = {}
    for raw in lines:
        match = LINE.match(raw)
        assert match, f"torn or merged line: {raw[:120]!r}"
        tag, stream, num, pad = match.groups()
        assert len(pad) == int(num) % 50, f"torn line: {raw[:120]!r}"
        seen.setdefault((tag, stream), []).append(int(num))
    return seen


def test_passthrough_prefixes_each_instance_and_keeps_its_order(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, _ = start(
        launch,
        tmp_path,
        f"""
        [programs.web]
        command = {talk(tmp_path, "count", "web", "300")}
        numprocs = 2
        restart = "never"
        stdout = {{ passthrough = true }}
        stderr = "stdout"
        """,
    )
    got: dict[str, list[bytes]] = {"web-1": [], "web-2": []}
    while sum(len(v) for v in got.values()) < 2 * 600:
        name, sep, rest = pinit.readline().partition(" | ")
        assert sep, f"no prefix: {name!r}"
        got[name].append(rest.encode())
    for lines in got.values():
        seen = check_numbered(lines)
        assert seen == {(b"web", b"out"): list(range(300)), (b"web", b"err"): list(range(300))}
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_two_programs_share_one_file_without_losing_tearing_or_merging_a_line(
    launch: type[Launch], tmp_path: Path
) -> None:
    log = tmp_path / "all.log"
    body = "".join(
        f"""
        [programs.{tag}]
        command = {talk(tmp_path, "count", tag, "20000")}
        restart = "never"
        stdout = {{ file = "{log}", max_bytes = "1GB" }}
        stderr = "stdout"
        """
        for tag in ("alpha", "beta")
    )
    pinit, events = start(launch, tmp_path, body)
    events.wait("alpha", "done", timeout=30)
    events.wait("beta", "done", timeout=30)
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
    seen = check_numbered(log.read_bytes().splitlines())
    for tag in (b"alpha", b"beta"):
        for stream in (b"out", b"err"):
            assert seen[(tag, stream)] == list(range(20000))


def test_rotation_keeps_n_backups_of_whole_lines(launch: type[Launch], tmp_path: Path) -> None:
    log = tmp_path / "r.log"
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.r]
        command = {talk(tmp_path, "count", "r", "20000")}
        restart = "never"
        stdout = {{ file = "{log}", max_bytes = 100000, backups = 3 }}
        """,
    )
    events.wait("r", "done", timeout=30)
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
    files = [Path(f"{log}.{n}") for n in (3, 2, 1)] + [log]
    assert all(f.exists() for f in files)
    assert not Path(f"{log}.4").exists()
    lines = []
    for f in files:
        content = f.read_bytes()
        assert len(content) <= 100000
        assert content.endswith(b"\n")
        lines += content.splitlines()
    seen = check_numbered(lines)
    assert set(seen) == {(b"r", b"out"), (b"r", b"err")}  # stderr follows stdout by default
    for nums in seen.values():
        assert nums == list(range(nums[0], 20000))  # a contiguous suffix: the oldest dropped
        assert nums[0] > 0


def test_a_crashing_programs_last_line_is_captured(launch: type[Launch], tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    pinit, _ = start(
        launch,
        tmp_path,
        f"""
        [pinit]
        main = "crash"
        [programs.crash]
        command = {talk(tmp_path, "crash", "crash")}
        restart = "never"
        stdout = {{ file = "{log}", passthrough = true }}
        stderr = "stdout"
        """,
    )
    assert pinit.readline() == "crash | first"
    assert pinit.readline() == "crash | last words"  # no newline of its own, ended at exit
    code, _, _ = pinit.finish()
    assert code == 1
    assert log.read_bytes() == b"first\nlast words\n"


def test_restarts_share_the_pipe_and_each_run_ends_its_own_last_line(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, _ = start(
        launch,
        tmp_path,
        f"""
        [programs.crash]
        command = {talk(tmp_path, "crash", "crash")}
        restart = "on-failure"
        start_retries = 2
        backoff = {{ initial = "10ms" }}
        stdout = {{ passthrough = true }}
        """,
    )
    for _ in range(3):  # the first run and two retries, then FATAL shuts the container down
        assert pinit.readline() == "crash | first"
        assert pinit.readline() == "crash | last words"
    code, out, _ = pinit.finish()
    assert code != 0
    assert out == ""


def test_a_program_removed_by_reload_has_its_last_lines_captured(
    launch: type[Launch], tmp_path: Path
) -> None:
    keep = f"""
        [programs.keep]
        command = {talk(tmp_path, "bye", "keep")}
        stdout = {{ passthrough = true }}
        """
    gone = f"""
        [programs.gone]
        command = {talk(tmp_path, "bye", "gone")}
        stdout = {{ passthrough = true, file = "{tmp_path / "gone.log"}" }}
        """
    pinit, events = start(launch, tmp_path, keep + gone)
    events.wait("keep", "start")
    events.wait("gone", "start")
    (tmp_path / "pinit.toml").write_text(textwrap.dedent(keep))
    pinit.signal(signal.SIGHUP)
    pinit.wait_stderr("gone: stopped")
    pinit.signal(signal.SIGTERM)
    code, out, err = pinit.finish()
    assert code == 0
    assert "Traceback" not in err
    assert (tmp_path / "gone.log").read_text() == "hello\nbye\n"
    lines = out.splitlines()
    assert "gone | bye" in lines
    assert "keep | bye" in lines


def test_the_loop_runs_callbacks_from_other_threads() -> None:
    """The writers' way back into the loop: a 0 byte on the wakeup pipe, never a signal."""
    from pinit.runtime.loop import Loop

    loop = Loop()
    ran: list[str] = []
    signalled: list[list[int]] = []
    loop.watch_signals([signal.SIGUSR2], signalled.append)

    def from_thread() -> None:
        loop.call_soon_threadsafe(lambda: ran.append("first"))
        loop.call_soon_threadsafe(loop.stop)

    loop.call_later(0, lambda: threading.Thread(target=from_thread).start())
    guard = loop.call_later(10, loop.stop)
    loop.run()
    guard.cancel()
    loop.close()
    signal.signal(signal.SIGUSR2, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR2])  # the loop blocks what it reads
    assert ran == ["first"]
    assert signalled == []


def wait_for(condition: object, timeout: float, what: str) -> None:
    """Poll a kernel state that raises no event of its own (a pipe filling up), bounded."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


def test_a_stalled_stdout_holds_programs_back_but_not_the_loop(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.flood]
        command = {talk(tmp_path, "forever", "flood")}
        stdout = {{ passthrough = true }}
        """,
        mode="plain",
    )
    flood = events.wait("flood", "start")

    def blocked() -> bool:
        """Blocked writing its pipe: pinit stopped reading it, its stdout writer being full."""
        with open(f"/proc/{flood.pid}/wchan") as f:
            return "pipe_write" in f.read()  # anon_pipe_write since Linux 6.x

    wait_for(blocked, 20, "the program never blocked on its pipe")
    pinit.signal(signal.SIGTERM)
    pinit.wait_stderr("received SIGTERM", timeout=3)  # the loop is not stuck behind stdout
    term = _term_event(events)
    written = int(term.what.split("-")[1])
    code, out, _ = pinit.finish(timeout=30)
    assert code == 0
    lines = out.splitlines()
    nums = [int(t.split()[3]) for t in lines]
    missing = sorted(set(range(written)) - set(nums))
    assert not missing, (missing[:5], missing[-5:], len(missing), written, len(lines))
    # Nothing lost while the reader was stalled. One more line than counted is possible: the
    # SIGTERM handler can run after a line's os.write returned and before `written += 1`.
    assert len(lines) in (written, written + 1)
    for i, text in enumerate(lines):
        assert text.startswith(f"flood | flood {i:010d} y"), text[:80]
        assert len(text) == len("flood | ") + 96


def _term_event(events: Events) -> Event:
    """The "term-N" event: its name carries the count, so Events.wait cannot match it."""
    deadline = time.monotonic() + 5
    while True:
        for ev in events.seen:
            if ev.name == "flood" and ev.what.startswith("term-"):
                return ev
        if not events._pump(deadline):
            raise TimeoutError("the program never got SIGTERM")


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 256 KiB tmpfs, so that "disk full" is real and can be undone."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", "-l", str(where)])


def test_a_full_disk_is_reported_once_and_writing_recovers(
    launch: type[Launch], tmp_path: Path, small_disk: Path
) -> None:
    log = small_disk / "p.log"
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.p]
        command = {talk(tmp_path, "ping", "p")}
        stdout = {{ file = "{log}" }}
        """,
        mode="plain",
    )
    events.wait("p", "start")
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # ENOSPC: the disk is full
    os.close(fd)
    pinit.signal(signal.SIGUSR1)
    events.wait("p", "ping-1")
    pinit.wait_stderr("p: log write failed: No space left on device (lines are being dropped)")
    pinit.signal(signal.SIGUSR1)
    events.wait("p", "ping-2")  # written to the pipe; pinit may write it before or after:
    filler.unlink()
    pinit.signal(signal.SIGUSR1)
    events.wait("p", "ping-3")
    resumed = pinit.wait_stderr("p: log writes resumed (")
    dropped = int(resumed.split("(")[1].split()[0])
    assert dropped in (1, 2)
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish()
    assert code == 0
    assert err.count("log write failed") == 1  # once per failure, not once per line
    assert log.read_bytes() == b"".join(b"ping %d\n" % i for i in range(dropped + 1, 4))
