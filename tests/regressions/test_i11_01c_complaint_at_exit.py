"""Found by CI on the issue 11.1 regression (test_i11_01b): a log writer's complaint could be
lost at exit. The writer thread handed it to the loop (call_soon_threadsafe) unless the writer
was already closing; pinit's exit drains the pipes after the loop's last turn, so a rotation
refused during that drain, written before the writer was closed, queued its "refusing to
write" for a loop that never ran again. Now the writer keeps what it has to say until the loop
thread says it, and the capture says what is left once each writer thread is joined."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from pinit.logs.writer import Writer


class StoppedLoop:
    """A reactor whose loop has run its last turn: what is queued is never run."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], None]] = []
        self.woken = threading.Event()
        self.readers: dict[int, Callable[[int], None]] = {}

    def add_reader(self, fd: int, callback: Callable[[int], None]) -> None:
        self.readers[fd] = callback  # the test calls it: the loop's last reads

    def remove(self, fd: int) -> None:
        self.readers.pop(fd, None)

    def call_soon_threadsafe(self, callback: Callable[[], None]) -> None:
        self.queued.append(callback)
        self.woken.set()

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        raise AssertionError("not used")


def _refusing(block: list[bytes]) -> None:
    raise PermissionError(13, "refusing to write app.log: /var is writable by group 0")


def test_a_complaint_queued_as_the_loop_stopped_is_said_once_after_the_join() -> None:
    said: list[str] = []
    loop = StoppedLoop()
    writer = Writer("app", _refusing, loop, said.append)  # type: ignore[arg-type]
    writer.put([b"a line\n"])  # written (and refused) before the writer is closed
    assert loop.woken.wait(10)  # the thread met the error and queued its complaint
    writer.close()
    assert writer.join(10)
    assert said == []  # the loop never ran: nothing said yet
    writer.say_untold()  # what Capture.close does after each join
    reason = "refusing to write app.log: /var is writable by group 0"
    assert said == [f"app: log write failed: {reason} (lines are being dropped)"]
    for callback in loop.queued:  # had the loop run it after all: said once, not twice
        callback()
    assert len(said) == 1


# Under a 100-byte RLIMIT_FSIZE (a subprocess: the limit is the process's), program a's log
# write fails (EFBIG) while the loop still runs, so its complaint is queued for a loop turn
# that never comes (StoppedLoop). a is then forgotten (a reload) and its writer thread ends;
# then b is forgotten too, and its release used to drop a's ended writer from those joined
# at exit, its complaint still queued. Now that release says it: once.
RELOAD_THEN_EXIT = """
import os, resource, signal, sys, threading
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from pinit.logs.capture import LogRouter
from tests.regressions.test_i11_01c_complaint_at_exit import StoppedLoop
from tests.unit.test_config_load import ok

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
tmp = Path(sys.argv[1])
config = ok(
    f'[programs.a]\\ncommand = ["true"]\\nstdout = {{ file = "{tmp}/a.log" }}\\n'
    f'[programs.b]\\ncommand = ["true"]\\nstdout = {{ file = "{tmp}/b.log" }}\\n'
)
a, b = config.programs
said = []
loop = StoppedLoop()
router = LogRouter(loop, said.append)
threads = {}
for program in (a, b):
    before = set(threading.enumerate())
    fds = router.fds_for(program.name, program)
    threads[program.name] = set(threading.enumerate()) - before  # its writer's thread
    if program is a:
        out_a = fds[0]
assert threads["a"] and threads["b"]  # each log file has a writer thread of its own
os.write(out_a, b"x" * 150 + b"\\n")  # past the limit: the write fails
router.exited("a")  # reads the pipe: a's writer writes, fails, queues its complaint
assert loop.woken.wait(10)
for name in ("a", "b"):
    router.forget(name)  # pinit's write ends close; the loop reads on to EOF
    for fd, callback in list(loop.readers.items()):
        callback(fd)  # EOF: the stream ends and releases its writer
    for thread in threads[name]:
        thread.join(10)  # a's thread has ended before b's release
print(repr(said))
router.close()
print(repr(said))
"""


def test_a_complaint_of_an_ended_writer_is_said_once(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[2])
    run = subprocess.run(
        [sys.executable, "-c", RELOAD_THEN_EXIT, str(tmp_path), root],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    before_exit, at_exit = run.stdout.splitlines()
    complaints = [line for line in eval(at_exit) if "log write failed" in line]
    assert len(complaints) == 1 and complaints[0].startswith("a"), run.stdout
    assert before_exit == at_exit  # said at b's release, not only because close() joins
