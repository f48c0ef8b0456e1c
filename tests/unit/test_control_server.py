"""The control server's rules, driven one loop turn at a time over real sockets (no processes)."""

from __future__ import annotations

import json
import os
import resource
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pinit.control import accept, proto, server
from pinit.control.server import ControlServer, Respond


class Timer:
    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline, self.callback, self.cancelled = deadline, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Turns:
    """A ControlReactor that runs only when the test says so: one select pass per turn(), then the
    timers due; `now` is the test's clock, moved by advance()."""

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.timers: list[Timer] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + delay, callback)
        self.timers.append(timer)
        return timer

    def pending(self) -> list[Timer]:
        return [t for t in self.timers if not t.cancelled]

    def fire(self) -> None:
        """Run every pending timer now, as if its deadline had passed."""
        due, self.timers = self.pending(), []
        for timer in due:
            timer.callback()

    def add_reader(self, fd: int, callback: Callable[[int], None]) -> None:
        self.sel.register(fd, selectors.EVENT_READ, callback)

    def add_writer(self, fd: int, callback: Callable[[int], None]) -> None:
        self.sel.register(fd, selectors.EVENT_WRITE, callback)

    def remove(self, fd: int) -> None:
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    def turn(self, timeout: float = 0.5) -> int:
        ready = self.sel.select(timeout)
        for key, _ in ready:
            key.data(key.fd)
        return len(ready)


@pytest.fixture
def loop() -> Iterator[Turns]:
    turns = Turns()
    yield turns
    turns.sel.close()


def connect(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(str(path))
    conn.settimeout(5)
    return conn


def replies(conn: socket.socket, loop: Turns, n: int) -> list[dict[str, object]]:
    """Run turns until n reply lines arrived (bounded)."""
    buf = b""
    conn.setblocking(False)
    for _ in range(500):
        loop.turn(0.01)
        try:
            buf += conn.recv(1 << 20)
        except BlockingIOError:
            pass
        if buf.count(b"\n") >= n:
            break
    return [json.loads(line) for line in buf.splitlines()]


def echo(req: proto.Request, respond: Respond) -> None:
    respond({"ok": True, "cmd": req.cmd, "target": req.target})


def test_socket_is_0600_and_removed_at_close(tmp_path: Path, loop: Turns) -> None:
    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), echo, print)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    srv.close()
    assert not path.exists()


def test_close_leaves_a_successors_socket_alone(tmp_path: Path, loop: Turns) -> None:
    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), echo, print)
    path.unlink()
    successor = socket.socket(socket.AF_UNIX)
    successor.bind(str(path))
    srv.close()
    assert path.exists()
    successor.close()


def test_refuses_a_regular_file_and_a_live_socket(tmp_path: Path, loop: Turns) -> None:
    path = tmp_path / "c.sock"
    path.write_text("not a socket")
    with pytest.raises(OSError, match="not a socket"):
        ControlServer(loop, str(path), echo, print)
    path.unlink()
    first = ControlServer(loop, str(path), echo, print)
    with pytest.raises(OSError, match="in use"):
        ControlServer(loop, str(path), echo, print)
    first.close()


def test_pipelined_requests_are_answered_in_order_a_few_per_turn(
    tmp_path: Path, loop: Turns
) -> None:
    handled: list[str] = []

    def counting(req: proto.Request, respond: Respond) -> None:
        handled.append(req.target)
        echo(req, respond)

    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), counting, print)
    conn = connect(path)
    loop.turn()  # accept
    conn.sendall(b"".join(f'{{"cmd":"stop","target":"p{i}"}}\n'.encode() for i in range(100)))
    loop.turn()
    assert 0 < len(handled) <= server.PER_TURN  # the loop got its turn back
    got = replies(conn, loop, 100)
    assert [r["target"] for r in got] == [f"p{i}" for i in range(100)]
    conn.close()
    srv.close()


def test_deferred_replies_hold_the_next_request(tmp_path: Path, loop: Turns) -> None:
    waiting: list[Respond] = []
    handled: list[str] = []

    def later(req: proto.Request, respond: Respond) -> None:
        handled.append(req.cmd)
        waiting.append(respond)

    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), later, print)
    conn = connect(path)
    loop.turn()
    conn.sendall(b'{"cmd":"status"}\n{"cmd":"reload"}\n')
    for _ in range(3):
        loop.turn(0.05)
    assert handled == ["status"]
    waiting.pop()({"ok": True, "n": 1})
    for _ in range(3):
        loop.turn(0.05)
    assert handled == ["status", "reload"]
    waiting.pop()({"ok": True, "n": 2})
    assert [r["n"] for r in replies(conn, loop, 2)] == [1, 2]
    srv.close()


def test_errors_bugs_and_oversized_replies(tmp_path: Path, loop: Turns) -> None:
    said: list[str] = []

    def handler(req: proto.Request, respond: Respond) -> None:
        if req.cmd == "reload":
            raise RuntimeError("boom")
        if req.cmd == "status":
            respond({"ok": True, "blob": "x" * (server.MAX_OUT + 1)})
            return
        echo(req, respond)

    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), handler, said.append)
    conn = connect(path)
    loop.turn()
    conn.sendall(b'{"cmd":"dance"}\n{"cmd":"reload"}\n{"cmd":"stop","target":"x"}\n')
    got = replies(conn, loop, 3)
    assert "unknown cmd" in str(got[0]["error"])
    assert "internal error" in str(got[1]["error"]) and "boom" in str(got[1]["error"])
    assert got[2] == {"ok": True, "cmd": "stop", "target": "x"}
    conn.sendall(b'{"cmd":"status"}\n')
    for _ in range(5):
        loop.turn(0.05)
    assert any("outgrew" in line for line in said)
    conn.setblocking(True)
    assert conn.recv(100) == b""  # dropped
    srv.close()


def test_peer_of_another_uid_gets_an_error_and_is_closed(tmp_path: Path, loop: Turns) -> None:
    said: list[str] = []
    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), echo, said.append, allowed_uids=frozenset({12345}))
    for _ in range(3):
        conn = connect(path)
        loop.turn()
        data = conn.recv(4096)
        assert b"permission denied" in data and str(os.getuid()).encode() in data
        assert conn.recv(4096) == b""
    assert said == [f"control: refused a connection from uid {os.getuid()} (said once per uid)"]
    srv.close()


def test_eof_after_an_unterminated_request_still_answers(tmp_path: Path, loop: Turns) -> None:
    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), echo, print)
    conn = connect(path)
    loop.turn()
    conn.sendall(b'{"cmd":"start","target":"w"}')
    conn.shutdown(socket.SHUT_WR)
    got = replies(conn, loop, 1)
    assert got == [{"ok": True, "cmd": "start", "target": "w"}]
    srv.close()


def test_at_the_cap_new_clients_wait_and_nobody_is_evicted(tmp_path: Path, loop: Turns) -> None:
    """Issue 11.11: the cap pauses accept(); queued clients are served as slots free."""
    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), echo, print)
    held = [connect(path) for _ in range(server.MAX_CLIENTS)]
    loop.turn()
    late = connect(path)  # in the kernel's backlog
    late.sendall(b'{"cmd":"status"}\n')
    for _ in range(3):
        loop.turn(0.02)
    late.setblocking(False)
    with pytest.raises(BlockingIOError):
        late.recv(100)  # not served yet, and the listener is out of the loop: no spin
    assert loop.turn(0.02) == 0
    held[0].sendall(b'{"cmd":"stop","target":"x"}\n')
    assert replies(held[0], loop, 1) == [{"ok": True, "cmd": "stop", "target": "x"}]
    held[0].close()  # a slot frees: the late one gets in and its request is answered
    assert replies(late, loop, 1) == [{"ok": True, "cmd": "status", "target": ""}]
    for conn in held[1:]:
        conn.setblocking(False)
        with pytest.raises(BlockingIOError):
            conn.recv(1)  # still open, nothing sent to it
    srv.close()


def test_at_the_cap_idle_ones_are_closed_but_not_those_awaiting_pinit(
    tmp_path: Path, loop: Turns, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting: list[Respond] = []
    said: list[str] = []

    def later(req: proto.Request, respond: Respond) -> None:
        waiting.append(respond)

    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), later, said.append)
    busy = connect(path)
    loop.turn()
    busy.sendall(b'{"cmd":"logs","target":"a"}\n')
    loop.turn()
    assert len(waiting) == 1
    idle = [connect(path) for _ in range(server.MAX_CLIENTS - 1)]
    loop.turn()
    assert not said and loop.pending()  # at the cap: a sweep is due
    monkeypatch.setattr(server, "IDLE", 0.0)  # as if IDLE seconds went by
    loop.fire()
    assert said == [f"control: {server.MAX_CLIENTS} clients connected, closed 31 idle"]
    for conn in idle:
        assert conn.recv(1) == b""
    waiting[0]({"ok": True, "n": 1})
    assert [r["n"] for r in replies(busy, loop, 1)] == [1]
    srv.close()


def test_out_of_descriptors_accept_rests_and_says_it_once(tmp_path: Path, loop: Turns) -> None:
    """Issue 11.2: EMFILE leaves the connection queued; retrying at once would spin."""
    said: list[str] = []
    path = tmp_path / "c.sock"
    srv = ControlServer(loop, str(path), echo, said.append)
    queued = connect(path)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.dup(0)
    os.close(lowest_free)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
    try:
        loop.turn()
        assert len(said) == 1 and "accept failed" in said[0] and "pausing" in said[0]
        assert loop.turn(0.02) == 0  # still queued, but the listener is out of the loop
        first = loop.pending()
        assert len(first) == 1
        loop.fire()  # the rest is over: accept() is tried again, fails again, quietly
        assert len(said) == 1
        second = loop.pending()
        assert len(second) == 1 and second[0].deadline - first[0].deadline > accept.BACKOFF / 2
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    loop.fire()
    assert said[1:] == ["control: accepting connections again (2 failed accepts)"]
    queued.sendall(b'{"cmd":"status"}\n')
    assert replies(queued, loop, 1) == [{"ok": True, "cmd": "status", "target": ""}]
    srv.close()


def test_a_follower_gets_records_as_they_come_and_its_eof_ends_its_cursor(
    tmp_path: Path, loop: Turns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8, `ctl events`: the reply, then the ring's records as appended (one wake turns
    write interest on); a caught-up follower is not idle at the cap; its EOF closes the
    subscription; pinit's close hands it the last records, then EOF."""
    from pinit.runtime.eventring import EventRing, Subscription

    ring = EventRing(capacity=64)
    ring.append({"type": "old"})

    def subscribe(req: proto.Request, wake: Callable[[], None]) -> Subscription:
        return ring.subscribe(wake, bound=req.bound, history=req.history)

    path = tmp_path / "c.sock"
    said: list[str] = []
    srv = ControlServer(loop, str(path), echo, said.append, subscribe=subscribe)
    first = connect(path)
    loop.turn()
    first.sendall(b'{"cmd":"events","history":1}\n')
    assert replies(first, loop, 2) == [{"ok": True, "stream": "events"}, {"type": "old", "seq": 0}]
    ring.append({"type": "new"})
    assert replies(first, loop, 1) == [{"type": "new", "seq": 1}]
    others = [connect(path) for _ in range(server.MAX_CLIENTS - 1)]
    loop.turn()
    monkeypatch.setattr(server, "IDLE", 0.0)
    loop.fire()  # at the cap: the silent ones go, the caught-up follower stays
    assert said == [f"control: {server.MAX_CLIENTS} clients connected, closed 31 idle"]
    for conn in others:
        assert conn.recv(1) == b""
    second = connect(path)
    loop.turn()
    second.sendall(b'{"cmd":"events"}\n')
    assert replies(second, loop, 1) == [{"ok": True, "stream": "events"}]
    assert len(ring.subscribers) == 2
    second.close()
    loop.turn(0.05)
    assert len(ring.subscribers) == 1  # its EOF ended its cursor
    ring.append({"type": "done"})
    srv.close()  # before any loop turn: close writes what is due
    first.setblocking(True)
    rest = b""
    while chunk := first.recv(1 << 16):
        rest += chunk
    assert [json.loads(line) for line in rest.splitlines()] == [{"type": "done", "seq": 2}]
    assert not ring.subscribers
