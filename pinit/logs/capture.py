"""Capture of each program's stdout/stderr: a pipe per stream, read by the loop, written by threads.

Who holds what:
- pinit creates one pipe per (instance, stream) the first time the instance starts, and keeps
  it, with a copy of the write end, until the instance is removed (reload) or pinit exits.
  A restart reuses the pipe, so a crashing program's last lines, still in the pipe when it
  dies, are read like any others (s6 keeps its logger pipe open across restarts for this).
  Each exit marks the run's end at its offset in the pipe; the partial line is ended there,
  also when back-pressure delays the reading (issue 11.5).
- The loop reads the read end (non-blocking, one read per wake-up, logs.pipe), frames it
  into blocks of whole lines (logs.framing) and hands each block to its destinations: a
  rotating file (logs.rotate) and/or pinit's stdout with a `NAME | ` prefix (passthrough).
  `stderr = "stdout"` is a second pipe into the same destinations: each pipe is framed on its
  own, so the two streams interleave by whole lines only.
- Each destination is a logs.writer.Writer: a thread and a bounded backlog. A full backlog
  makes the loop stop reading the pipes that feed it (back-pressure, never a dropped line);
  the writer wakes the loop to resume. The loop itself never writes to a file or to stdout.
- Issue 10: `timestamps` stamps each block for a file once per read (logs.stamp); a
  passthrough-only program's recent lines stay in a bounded ring (logs.tail) for `ctl logs`;
  `reopen` runs RotatingFile.reopen as a task on each file's writer thread, between blocks.
- A program with neither `file` nor `passthrough` gets no pipe: it inherits pinit's stdout and
  stderr, with no copy at all (and `pinit -- CMD` never comes here).

Why threads and not a log-writer process (DESIGN §2c), by measurement: 200 MB of 97-byte
numbered lines from one program, prepared in memory and written in 64 KiB chunks, into a file
rotated at 10 MB x 5 backups; 2-core sandbox (busy with other test runs: medians of 5, with
the range); PSS of pinit from /proc/PID/smaps_rollup, sampled every 20 ms:

    (2) writer thread (this module, in pinit)   561 MB/s [466-606]   PSS idle 12.7 MB, +0
        with 10 instances sharing one file: 1 extra thread, no measurable PSS; peak under
        the flood +5 MB (the 1 MiB backlog and its copies; it was +13 MB with a 4 MiB one)
    (1) forked helper process (prototype)       549 MB/s [432-620]   + a second process of
        4.7 MB PSS for good, even as a bare interpreter importing only framing and rotate
    on this box: program > file 2580 MB/s, program | cat > file 1836 MB/s

Equal throughput, so the thread wins on what else it costs: no second process to start,
reap, restart and keep alive while PID 1 shuts down, and no passing of new pipes to it on a
reload (SCM_RIGHTS). Every line stays whole, unlike supervisord's mid-line rotation (§7). The
size of a read, and so of a busy pipe, is logs.pipe's business; splice(2) was not tried, as it
cannot frame lines.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable

from pinit.config.schema import LogSpec, Program
from pinit.logs.framing import Block, joined, prefix_lines
from pinit.logs.pipe import Route, Stream, unread
from pinit.logs.rotate import RotatingFile
from pinit.logs.writer import Say, Sink, Writer, fd_sink

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.logs.tail import Tail
    from pinit.logs.writer import LogReactor

__all__ = ["LogRouter"]

DRAIN_AT_EXIT = 1.0  # seconds to read what programs left in their pipes when pinit ends
WRITE_AT_EXIT = 5.0  # seconds for the writers to put it on disk (a stalled disk: give up)


class LogRouter:
    """The supervisor's one handle on log capture: fds for a spawn, and the end of instances."""

    def __init__(
        self, reactor: LogReactor, say: Say, stdout_fd: int = 1, log_format: str = "text"
    ) -> None:
        self._reactor = reactor
        self._frame: Callable[[bytes, bytes], bytes] = prefix_lines
        self._json = log_format == "json"  # issue 8: passthrough as JSON lines
        if self._json:
            from pinit.logs.jsonlog import encode_block

            self._frame = encode_block
        self._say = say
        self._stdout_fd = stdout_fd
        self._streams: dict[tuple[str, str], Stream] = {}  # (instance, "out"|"err")
        self._closing: dict[int, Stream] = {}  # read fd -> forgotten stream, until its EOF
        self._writers: dict[str, Writer] = {}  # file path, or "" for pinit's stdout
        self._paths: dict[Writer, str] = {}
        self._files: dict[str, RotatingFile] = {}
        self._retired: list[Writer] = []  # closed, maybe still writing: joined at exit
        self._waiting: dict[Writer, list[Stream]] = {}
        self._tails: dict[str, Tail] = {}  # program -> recent passthrough lines (issue 10)

    # -- the supervisor's calls ------------------------------------------------------------------
    def fds_for(self, name: str, program: Program) -> tuple[int | None, int | None]:
        """The write ends to dup2 onto the child's 1 and 2; None inherits pinit's own."""
        out = self._stream(name, "out", program.stdout, program.name)
        if program.stderr is None:
            err = self._stream(name, "err", program.stdout, program.name) if out else None
        else:
            err = self._stream(name, "err", program.stderr, program.name)
        return (out.write_fd if out else None, err.write_fd if err else None)

    def exited(self, name: str) -> None:
        """The main process died: take what it left in its pipes, and end a partial line.

        The data is already in the pipe (a write to a pipe is complete when write returns),
        so the run's output ends where the pipe's unread bytes (FIONREAD) end now. That
        position is recorded, and the partial line is ended when reading gets there: at once
        if the stream is flowing (the reads are bounded: a surviving worker of the group may
        still be writing), or later, when a stream paused by back-pressure resumes. Without
        the mark the dead run's last partial line was glued to the next run's first line
        (issue 11.5); the next run writes into the same pipe, after the mark.
        """
        for stream_name in ("out", "err"):
            stream = self._streams.get((name, stream_name))
            if stream is None:
                continue
            end = stream.taken + unread(stream.read_fd)
            if not stream.ends or stream.ends[-1] != end:
                stream.ends.append(end)
            reads = 2  # a read asks for the pipe's size (Stream.read): a full pipe, and one more
            while reads and stream.ends and not stream.paused and self._read(stream):
                reads -= 1
            self._take(stream, b"")  # a run that ended where reading already is

    def forget(self, name: str) -> None:
        """The instance is gone (reload): drop pinit's write ends, read on until EOF."""
        for stream_name in ("out", "err"):
            stream = self._streams.pop((name, stream_name), None)
            if stream is not None:
                self._retire(stream)

    def reopen(
        self,
        done: Callable[[list[str]], None],
        within: float | None = None,
        late: Callable[[list[str]], None] | None = None,
    ) -> None:
        """Close and reopen every log file (issue 10: logrotate's postrotate): logs.reopen."""
        from pinit.logs.reopen import reopen_all  # only on a reopen: off PID 1's start path

        files = [(self._writers[path], path, rot) for path, rot in self._files.items()]
        reopen_all(files, self._reactor, done, within, late)

    def tail(self, program: str) -> Tail | None:
        """The recent lines of a passthrough-only program (issue 10), if it printed any."""
        return self._tails.get(program)

    def instance_lines(self, lines: list[bytes], instance: str) -> list[bytes]:
        """The lines of one instance among its program's tail, as the format framed them:
        `NAME-N | ` in text, the object's `"instance"` field in JSON (regression i10_04)."""
        if not self._json:
            mine = f"{instance} | ".encode()
            return [ln for ln in lines if ln.startswith(mine)]
        from pinit.logs.jsonlog import head

        field = b',"instance":'  # the first one is the head's: a program's own JSON comes after
        want = head("", instance, "")
        want = want[want.index(field) : want.rindex(b',"stream"')] + b","
        return [ln for ln in lines if ln.startswith(want, max(ln.find(field), 0))]

    def close(self) -> None:
        """At pinit's exit (after every program is gone): drain the pipes, flush the writers."""
        for key in list(self._streams):
            self._retire(self._streams.pop(key))
        deadline = time.monotonic() + DRAIN_AT_EXIT
        while self._closing and (left := deadline - time.monotonic()) > 0:
            poller = select.poll()  # not select(): fds past 1024 are normal with 500 programs
            for fd in self._closing:
                poller.register(fd, select.POLLIN)
            for fd, _ in poller.poll(left * 1000):
                stream = self._closing[fd]
                stream.paused = True  # nobody resumes it now; read on regardless
                self._read(stream)
        for stream in list(self._closing.values()):
            self._end(stream)
        for writer in list(self._writers.values()):
            writer.users = 1
            self._release(writer)
        writers, self._retired = self._retired, []
        deadline = time.monotonic() + WRITE_AT_EXIT
        for writer in writers:
            if not writer.join(max(0.0, deadline - time.monotonic())):
                self._say(f"{writer.label}: log writer stalled at exit; its last lines are lost")
            writer.say_untold()

    # -- reading ---------------------------------------------------------------------------------
    def _stream(self, name: str, which: str, spec: LogSpec, program: str) -> Stream | None:
        key = (name, which)
        old = self._streams.get(key)
        routes = self._routes(name, spec, program, which)
        if not routes:
            if old is not None:
                self._retire(self._streams.pop(key))
            return None
        if old is None:
            stream = self._streams[key] = Stream(routes)
            self._reactor.add_reader(stream.read_fd, self._readable(stream))
            return stream
        for writer, _, _ in old.routes:  # same pipe, possibly new destinations (reload)
            self._release(writer)
        old.routes = routes
        return old

    def _readable(self, stream: Stream) -> Callable[[int], None]:
        def readable(fd: int) -> None:
            self._read(stream)

        return readable

    def _read(self, stream: Stream) -> bool:
        """One read; True if it got data. EOF (only once pinit dropped its write end) ends it."""
        data = stream.read()
        if data is None:
            return False
        if not data:
            self._end(stream)
            return False
        self._take(stream, data)
        return True

    def _take(self, stream: Stream, data: bytes) -> None:
        """Frame what was read, ending the partial line at each run's end inside it."""
        pos = stream.taken
        stream.taken += len(data)
        ends = stream.ends
        while ends and ends[0] <= stream.taken:
            cut = max(0, ends.pop(0) - pos)
            if cut:
                self._deliver(stream, stream.framer.feed(data[:cut]))
                data = data[cut:]
                pos += cut
            self._deliver(stream, stream.framer.flush())
        if data:
            self._deliver(stream, stream.framer.feed(data))

    def _deliver(self, stream: Stream, block: Block) -> None:
        """A block to each route: a plain file's as read (no copy), prefixed ones as new bytes."""
        if not block:
            return
        for writer, prefix, tail in stream.routes:
            if prefix == b"" and tail is None:
                data = block
            else:
                text = joined(block)
                if isinstance(prefix, bytes):  # passthrough: `NAME | ` or a JSON object's middle
                    text = self._frame(text, prefix) if prefix else text
                else:  # a file's timestamps (issue 10): a fresh prefix per block
                    text = prefix_lines(text, prefix())
                if tail is not None:
                    tail.add(text)
                data = [text]
            if not writer.put(data):
                self._pause(stream, writer)

    # -- back-pressure ---------------------------------------------------------------------------
    def _pause(self, stream: Stream, writer: Writer) -> None:
        waiting = self._waiting.setdefault(writer, [])
        if stream not in waiting:
            waiting.append(stream)
        if not stream.paused:
            stream.paused = True
            self._reactor.remove(stream.read_fd)

    def _drained(self, writer: Writer) -> Callable[[], None]:
        def resume() -> None:
            for stream in self._waiting.pop(writer, []):
                if stream.paused and stream.read_fd >= 0:
                    stream.paused = False
                    self._reactor.add_reader(stream.read_fd, self._readable(stream))

        return resume

    # -- destinations ----------------------------------------------------------------------------
    def _routes(self, name: str, spec: LogSpec, program: str, which: str) -> list[Route]:
        routes: list[Route] = []
        if spec.file:
            prefix: bytes | Callable[[], bytes] = b""
            if spec.timestamps:
                from pinit.logs.stamp import stamp  # only when configured (issue 7, speed)

                prefix = stamp
            routes.append((self._writer(spec.file, program, spec), prefix, None))
        if spec.passthrough:
            middle = f"{name} | ".encode()
            if self._json:  # the route's "prefix" is then each JSON object's constant middle
                from pinit.logs.jsonlog import head

                middle = head(program, name, "stdout" if which == "out" else "stderr")
            # issue 10: no file to tail afterwards, so the recent lines stay in memory
            tail = None if spec.file else self._tails.get(program)
            if tail is None and not spec.file:
                from pinit.logs.tail import Tail  # only with passthrough (issue 7, speed)

                tail = self._tails[program] = Tail()
            routes.append((self._writer("", "stdout", spec), middle, tail))
        return routes

    def _writer(self, path: str, label: str, spec: LogSpec) -> Writer:
        writer = self._writers.get(path)
        if writer is None:
            sink: Sink = fd_sink(self._stdout_fd)
            finish = None
            if path:
                rotating = self._files[path] = RotatingFile(path, spec.max_bytes, spec.backups)
                sink, finish = rotating.write, rotating.close
                _limits(rotating, spec)
            writer = Writer(label, sink, self._reactor, self._say, finish)
            self._writers[path] = writer
            writer.on_drained(self._drained(writer))
            self._paths[writer] = path
        elif path:
            # The last config to name a file sets its limits (a reload may change them):
            # two ints the writer thread reads between writes, so no lock is needed.
            rotating = self._files[path]
            rotating.max_bytes, rotating.backups = max(1, spec.max_bytes), max(0, spec.backups)
            _limits(rotating, spec)
        writer.users += 1
        return writer

    def _release(self, writer: Writer) -> None:
        writer.users -= 1
        if writer.users > 0:
            return
        path = self._paths.pop(writer)
        del self._writers[path]
        self._files.pop(path, None)
        self._drained(writer)()  # nobody may stay paused on a writer that is going away
        writer.close()
        for done in [w for w in self._retired if not w.alive]:
            done.say_untold()  # its thread has ended: what it queued is said here, once
        self._retired = [w for w in self._retired if w.alive]
        self._retired.append(writer)

    # -- the end of a stream ---------------------------------------------------------------------
    def _retire(self, stream: Stream) -> None:
        """pinit's write end closes; the stream lives on until every other holder closed."""
        if stream.write_fd >= 0:
            os.close(stream.write_fd)
            stream.write_fd = -1
        self._closing[stream.read_fd] = stream

    def _end(self, stream: Stream) -> None:
        self._deliver(stream, stream.framer.flush())
        self._closing.pop(stream.read_fd, None)
        self._reactor.remove(stream.read_fd)
        stream.close_read()
        tails = {id(t) for _, _, t in stream.routes if t is not None}
        for writer, _, _ in stream.routes:
            self._release(writer)
        stream.routes = []
        if tails:  # a program gone for good (reload) takes its tail with it (issue 10)
            live = {id(t) for s in self._streams.values() for _, _, t in s.routes if t is not None}
            for program, tail in list(self._tails.items()):
                if id(tail) in tails and id(tail) not in live:
                    del self._tails[program]


def _limits(rotating: RotatingFile, spec: LogSpec) -> None:
    """Issue 10's settings: plain attributes the writer thread reads between writes."""
    rotating.set_every(spec.rotate_every)
    rotating.max_age, rotating.compress = spec.max_age, spec.compress
