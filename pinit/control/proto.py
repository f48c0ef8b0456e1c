"""The control protocol, without I/O: one JSON object per line each way.

JSON lines rather than a binary framing because an operator can speak it with `socat` or
`nc -U` when `pinit ctl` is not at hand, and because a line bound makes framing trivial for a
non-blocking reader. Everything arriving here is untrusted bytes from a socket into PID 1, so
``parse_request`` is total: any input gives a ``Request`` or an error message, never an
exception (a hypothesis test feeds it arbitrary bytes).

Requests::

    {"cmd": "status"}
    {"cmd": "start" | "stop" | "restart", "target": NAME}
    {"cmd": "signal", "target": NAME, "signal": "HUP"}      # name, SIGNAME or number
    {"cmd": "reload"}
    {"cmd": "logs", "target": NAME, "lines": N}             # lines optional, default 50
    {"cmd": "scale", "target": PROGRAM, "count": N}         # issue 9: 0..10000 instances
    {"cmd": "restart", "target": PROGRAM, "rolling": true}  # issue 9: one at a time
    {"cmd": "health", "names": [NAME, ...], "ready": true}  # issue 8; both optional
    {"cmd": "events", "names": [NAME...], "history": N, "bound": N}   # all optional (issue 8)

``events`` is the one streaming command: after ``{"ok": true, "stream": "events"}`` the
connection carries one event record per line until pinit stops (EOF), and ``{"lost": N}``
where a reader too slow for ``bound`` unread events lost the N oldest.
    {"cmd": "logs", "target": NAME, "after": {PROGRAM: N}}  # follow a passthrough tail
    {"cmd": "reopen"}                                       # close and reopen log files

NAME is a program (all its instances), an instance (``web-2``) or ``"all"``. Replies are
``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``; README.md ("Control") lists the
fields of each.
"""

from __future__ import annotations

import signal

from pinit.records import dataclass

__all__ = [
    "COMMANDS",
    "DEFAULT_LINES",
    "MAX_LINE",
    "MAX_LOG_LINES",
    "LineReader",
    "Request",
    "decode_reply",
    "encode",
    "error",
    "parse_request",
    "parse_signal",
    "request_json",
]

MAX_LINE = 64 * 1024  # one request line; longer is refused, not buffered
DEFAULT_LINES = 50
MAX_LOG_LINES = 10_000
MAX_TARGET = 256
COMMANDS = (
    "status",
    "start",
    "stop",
    "restart",
    "signal",
    "reload",
    "logs",
    "scale",
    "health",
    "events",
    "reopen",
)
MAX_HISTORY, MAX_BOUND, DEFAULT_BOUND = 100_000, 4096, 1024  # events (issue 8)
_TARGETED = frozenset({"start", "stop", "restart", "signal", "logs", "scale"})
MAX_SCALE = 10_000  # the loader's numprocs bound, on one program and on all summed
MAX_NAMES = 64  # issue 8: names in one health request
MAX_CURSORS = 1000  # programs in one follow request's "after" (issue 10)
_KEYS = {
    "status": frozenset({"cmd"}),
    "reload": frozenset({"cmd"}),
    "start": frozenset({"cmd", "target"}),
    "stop": frozenset({"cmd", "target"}),
    "restart": frozenset({"cmd", "target", "rolling"}),
    "signal": frozenset({"cmd", "target", "signal"}),
    "logs": frozenset({"cmd", "target", "lines", "after"}),
    "events": frozenset({"cmd", "names", "history", "bound"}),
    "scale": frozenset({"cmd", "target", "count"}),
    "health": frozenset({"cmd", "names", "ready"}),
    "reopen": frozenset({"cmd"}),  # issue 10
}


@dataclass(frozen=True, slots=True)
class Request:
    cmd: str
    target: str = ""
    signal: signal.Signals | None = None
    lines: int = DEFAULT_LINES
    history: int = 0  # events: start this many past events back
    bound: int = DEFAULT_BOUND  # events: unread events kept for this client
    count: int = 0  # scale
    rolling: bool = False  # restart
    names: tuple[str, ...] = ()  # issue 8: health, events: these programs/instances
    ready: bool = False  # issue 8: health: ready too, not only running
    after: tuple[tuple[str, int], ...] | None = None  # logs: follow cursors (issue 10)


def parse_signal(value: object) -> signal.Signals | None:
    """``"HUP"``, ``"sighup"``, ``"SIGHUP"`` or ``1`` -> SIGHUP; None if not a signal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return signal.Signals(value)
        except ValueError:
            return None
    if not isinstance(value, str):
        return None
    name = value.strip().upper()
    if name.isdigit():
        return parse_signal(int(name))
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name in ("SIG_DFL", "SIG_IGN", "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"):
        return None
    try:
        return signal.Signals[name]
    except KeyError:
        return None


def parse_request(line: bytes) -> Request | str:
    """One request line (without its newline) -> a Request, or an error message for the reply."""
    if len(line) > MAX_LINE:
        return f"request longer than {MAX_LINE} bytes"
    import json  # at the first client, not at PID 1's start (issue 7, speed)

    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and bad UTF-8 are ValueErrors
        return f"not a JSON object: {str(exc)[:200]}"
    if not isinstance(obj, dict):
        return 'a request is a JSON object, e.g. {"cmd": "status"}'
    cmd = obj.get("cmd")
    if not isinstance(cmd, str):
        return f'missing "cmd" (one of {", ".join(COMMANDS)})'
    if cmd not in _KEYS:
        return f"unknown cmd {cmd[:64]!r} (one of {', '.join(COMMANDS)})"
    unknown = sorted(str(k)[:64] for k in obj if k not in _KEYS[cmd])
    if unknown:
        return f"{cmd}: unknown key(s) {', '.join(map(repr, unknown))}"
    target = obj.get("target", "")
    if cmd in _TARGETED:
        if not isinstance(target, str) or not target:
            return f'{cmd}: missing "target" (a program, an instance like web-2, or "all")'
        if len(target) > MAX_TARGET or not target.isprintable():
            return f'{cmd}: "target" is not a program or instance name'
    if cmd == "signal":
        if "signal" not in obj:
            return 'signal: missing "signal" (e.g. "HUP")'
        sig = parse_signal(obj["signal"])
        if sig is None:
            return f"signal: unknown signal {str(obj['signal'])[:64]!r}"
        return Request(cmd, target, signal=sig)
    if cmd == "events":
        return _events_request(obj)
    if cmd == "logs":
        lines = obj.get("lines", DEFAULT_LINES)
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
            return 'logs: "lines" must be a positive integer'
        after = _cursors(obj.get("after"))
        if isinstance(after, str):
            return after
        return Request(cmd, target, lines=min(lines, MAX_LOG_LINES), after=after)
    if cmd == "scale":
        count = obj.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_SCALE:
            return f'scale: "count" must be an integer 0..{MAX_SCALE}'
        return Request(cmd, target, count=count)
    if cmd == "restart" and "rolling" in obj:
        if not isinstance(obj["rolling"], bool):
            return 'restart: "rolling" must be true or false'
        return Request(cmd, target, rolling=obj["rolling"])
    if cmd == "health":
        return _health(obj)
    return Request(cmd, target)


def _count(obj: dict[str, object], key: str, default: int, low: int, high: int) -> int | str:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        return f'events: "{key}" must be an integer of at least {low}'
    return min(value, high)


def _names(obj: dict[str, object], cmd: str) -> tuple[str, ...] | str:
    """``"names"`` of events and health: at most MAX_NAMES printable program or instance
    names; the error message otherwise."""
    names = obj.get("names", [])
    if not isinstance(names, list) or len(names) > MAX_NAMES:
        return f'{cmd}: "names" must be an array of at most {MAX_NAMES} names'
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_TARGET:
            return f'{cmd}: "names" holds programs or instances (e.g. "web-2")'
        if not name.isprintable():
            return f'{cmd}: "names" holds programs or instances (e.g. "web-2")'
    return tuple(names)


def _events_request(obj: dict[str, object]) -> Request | str:
    names = _names(obj, "events")
    if isinstance(names, str):
        return names
    history = _count(obj, "history", 0, 0, MAX_HISTORY)
    bound = _count(obj, "bound", DEFAULT_BOUND, 1, MAX_BOUND)
    if isinstance(history, str):
        return history
    if isinstance(bound, str):
        return bound
    return Request("events", names=names, history=history, bound=bound)


def _health(obj: dict[str, object]) -> Request | str:
    names, ready = _names(obj, "health"), obj.get("ready", False)
    if isinstance(names, str):
        return names
    if not isinstance(ready, bool):
        return 'health: "ready" must be true or false'
    return Request("health", names=names, ready=ready)


def _cursors(value: object) -> tuple[tuple[str, int], ...] | str | None:
    """`"after": {PROGRAM: N}` -> pairs, None if absent, or the error message (issue 10)."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_CURSORS:
        return f'logs: "after" must be an object of at most {MAX_CURSORS} program cursors'
    pairs: list[tuple[str, int]] = []
    for key, n in value.items():
        if not isinstance(key, str) or len(key) > MAX_TARGET:
            return 'logs: "after" keys are program names'
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 1 << 62:
            return 'logs: "after" values are line numbers (integers >= 0)'
        pairs.append((key, n))
    return tuple(pairs)


def request_json(req: Request) -> dict[str, object]:
    """The wire form of a Request (the client's side of parse_request)."""
    obj: dict[str, object] = {"cmd": req.cmd}
    if req.cmd in _TARGETED:
        obj["target"] = req.target
    if req.signal is not None:
        obj["signal"] = req.signal.name.removeprefix("SIG")
    if req.cmd == "logs":
        obj["lines"] = req.lines
        if req.after is not None:
            obj["after"] = dict(req.after)
    if req.cmd == "events":
        obj.update(names=list(req.names), history=req.history, bound=req.bound)
    if req.cmd == "scale":
        obj["count"] = req.count
    if req.rolling:
        obj["rolling"] = True
    if req.cmd == "health":
        obj["names"] = list(req.names)
        obj["ready"] = req.ready
    return obj


def encode(obj: dict[str, object]) -> bytes:
    """One line; ensure_ascii keeps a reply valid whatever a log file held."""
    import json

    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def error(message: str) -> dict[str, object]:
    return {"ok": False, "error": message}


def decode_reply(line: bytes) -> dict[str, object]:
    """A reply line -> its object; ValueError if it is not one."""
    import json

    obj = json.loads(line)
    if not isinstance(obj, dict) or not isinstance(obj.get("ok"), bool):
        raise ValueError("not a pinit control reply")
    return obj


class LineReader:
    """Bytes as they arrive -> complete lines; a line past MAX_LINE becomes None, and the rest
    of it up to its newline is skipped, so one bad request never costs more than the bound."""

    __slots__ = ("_buf", "_limit", "_skipping")

    def __init__(self, limit: int = MAX_LINE) -> None:
        self._buf = bytearray()
        self._limit = limit
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | None]:
        out: list[bytes | None] = []
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            if self._skipping:
                self._skipping = False
            else:
                self._buf += data[start:nl]
                out.append(None if len(self._buf) > self._limit else bytes(self._buf))
            self._buf.clear()
            start = nl + 1
        if not self._skipping:
            self._buf += data[start:]
            if len(self._buf) > self._limit:
                out.append(None)
                self._buf.clear()
                self._skipping = True
        return out

    def rest(self) -> bytes:
        """At EOF: an unterminated last line (b"" if none, or if it was already cut)."""
        rest, self._buf = (b"" if self._skipping else bytes(self._buf)), bytearray()
        return rest
