"""`pinit ctl`: one request over the control socket, its reply printed for a human or as JSON.

Exit codes are part of the interface (scripts branch on them): 0 the request succeeded, 1
pinit answered with an error, 2 usage, 3 no pinit could be reached (the message names the
path and the likely cause, which is almost always "not running" or "not allowed").
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import time
from collections.abc import Sequence
from typing import TextIO

from pinit.control import proto

__all__ = [
    "CONNECT_FAILED",
    "ERROR_REPLY",
    "OK",
    "CtlError",
    "format_reply",
    "health",
    "listener_pid",
    "request",
    "run",
]

OK, ERROR_REPLY, CONNECT_FAILED = 0, 1, 3
TIMEOUT = 30.0
_CREDS = struct.Struct("iII")  # struct ucred: pid, uid, gid


class CtlError(Exception):
    """Could not talk to pinit; `code` is the exit code."""

    def __init__(self, message: str, code: int = CONNECT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _why(exc: OSError, path: str) -> str:
    if exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
        return "no pinit is listening there (not running, or started with another socket)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: the socket is 0600, owned by pinit's user (run as root?)"
    if exc.errno == errno.EAGAIN:
        return "busy: pinit took no new connection in time (too many clients queued)"
    return exc.strerror or str(exc)


def _connect(path: str, timeout: float) -> socket.socket:
    """A connected socket whose server runs as root or as us; OSError or CtlError otherwise.

    The connect is blocking with a send timeout, not Python's timeout mode: when pinit is at
    its client cap and its listen backlog is full, a non-blocking connect fails at once with
    EAGAIN, while a blocking one waits in the kernel, woken as pinit accepts (issue 11.11).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        whole = int(timeout)
        tv = struct.pack("ll", whole, int((timeout - whole) * 1e6))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        sock.connect(path)
        _check_server(sock, path)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_server(sock: socket.socket, path: str) -> None:
    """Refuse a server that is neither root nor us, before a byte is sent (issue 11.8).

    A request can carry intent (stop, signal) and the reply is trusted for decisions; a
    socket path another user could have taken (a shared /tmp, a configured path in a loose
    directory) must not receive either. The kernel records the listener's credentials at
    listen(); they cannot be forged."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    uid = int(_CREDS.unpack(creds)[1])
    if uid not in (0, os.getuid()):
        raise CtlError(
            f"refusing {path}: its server runs as uid {uid}, neither root nor your uid"
            f" {os.getuid()} (another user's process may have taken the path)"
        )


def listener_pid(path: str) -> int | None:
    """The pid of the process listening on ``path`` as this process's PID namespace sees it
    (SO_PEERCRED translates it; 0, unknown, when the listener's namespace hides it), or None.

    Issue 9: a refused second pinit names the running one; the pid it wrote in its lock file
    is the one of its own namespace (1 for a container's PID 1), which may mean nothing here.
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(1.0)
            sock.connect(path)
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    except OSError:
        return None
    pid = int(_CREDS.unpack(creds)[0])
    return pid or None


def request(
    paths: Sequence[str], req: proto.Request, timeout: float = TIMEOUT
) -> dict[str, object]:
    """Send one request to the first path that answers; its reply. CtlError otherwise.

    `timeout` bounds the whole exchange with a path, the wait for a free slot included."""
    sock, path, began = connect_first(paths, timeout)
    with sock:
        return _exchange(sock, path, req, began + timeout, timeout)


def connect_first(paths: Sequence[str], timeout: float) -> tuple[socket.socket, str, float]:
    """The first of ``paths`` that answers: its connected socket, the path, and the monotonic
    time its connect began (a request's deadline counts from there). CtlError naming every
    path's failure otherwise. The one loop for requests and streams alike (events, logs -f)."""
    failures: list[str] = []
    for path in paths:
        began = time.monotonic()
        try:
            return _connect(path, timeout), path, began
        except CtlError as exc:
            failures.append(str(exc))
        except OSError as exc:
            failures.append(f"cannot connect to {path}: {_why(exc, path)}")
    raise CtlError("; ".join(failures) or "no control socket path")


def _exchange(
    sock: socket.socket, path: str, req: proto.Request, deadline: float, timeout: float
) -> dict[str, object]:
    try:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        sock.sendall(proto.encode(proto.request_json(req)))
        buf = b""
        while b"\n" not in buf:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    except TimeoutError:
        raise CtlError(f"{path}: no reply within {timeout:g}s", ERROR_REPLY) from None
    except OSError as exc:
        raise CtlError(f"{path}: {exc.strerror or exc}", ERROR_REPLY) from None
    line = buf.partition(b"\n")[0]
    try:
        return proto.decode_reply(line)
    except ValueError:
        raise CtlError(f"{path}: not a pinit reply: {line[:200]!r}", ERROR_REPLY) from None


# -- formatting ---------------------------------------------------------------------------------


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if s < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _size(value: object) -> str:
    if not isinstance(value, int):
        return "-"
    size = float(value)
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return "-"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


COLUMNS = ("INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "READY", "CPU%", "RSS")


def format_status(reply: dict[str, object]) -> str:
    rows = [list(COLUMNS)]
    got = reply.get("instances")
    instances = got if isinstance(got, list) else []
    said = any(isinstance(i, dict) and i.get("status_text") for i in instances)
    for inst in instances:
        if not isinstance(inst, dict):
            continue
        cpu = inst.get("cpu_percent")
        sub = inst.get("sub_state")  # issue 9: STOPPING=1 / RELOADING=1, as "running/reloading"
        rows.append(
            [
                _cell(inst.get("name")),
                _cell(inst.get("state")) + (f"/{sub}" if sub else ""),
                _cell(inst.get("pid")),
                _duration(inst.get("uptime")),
                _cell(inst.get("restarts")),
                _cell(inst.get("last_exit")),
                _cell(inst.get("ready")),
                f"{cpu:.1f}" if isinstance(cpu, int | float) else "-",
                _size(inst.get("rss")),
            ]
            + ([str(inst.get("status_text") or "")] if said else [])  # issue 9: STATUS=
        )
    if said:
        rows[0].append("STATUS")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    head = f"pinit {_cell(reply.get('name'))} (pid {_cell(reply.get('pid'))}): "
    return head + f"{_cell(reply.get('phase'))}\n" + "\n".join(lines) + "\n"


def format_reply(req: proto.Request, reply: dict[str, object]) -> str:
    """What a human sees for a successful reply."""
    if req.cmd == "status":
        return format_status(reply)
    if req.cmd == "logs":
        out: list[str] = []
        files = reply.get("files")
        for entry in files if isinstance(files, list) else []:
            if not isinstance(entry, dict):
                continue
            if len(files) > 1 if isinstance(files, list) else False:
                out.append(f"==> {entry.get('path')} <==")
            if entry.get("error"):
                out.append(f"({entry.get('path')}: {entry.get('error')})")
            lines = entry.get("lines")
            out += [str(line) for line in (lines if isinstance(lines, list) else [])]
        tails = reply.get("tails")  # issue 10: passthrough-only programs, from pinit's memory
        for entry in tails if isinstance(tails, list) else []:
            if isinstance(entry, dict):
                if entry.get("lost"):
                    out.append(f"(pinit: {entry.get('lost')} lines of {entry.get('program')} lost)")
                lines = entry.get("lines")
                out += [str(line) for line in (lines if isinstance(lines, list) else [])]
        return "".join(line + "\n" for line in out)
    if req.cmd == "reopen":
        files = reply.get("files")
        return f"reopened {len(files) if isinstance(files, list) else 0} log files\n"
    if req.cmd == "reload":
        return "reloaded\n"
    instances = reply.get("instances")
    if req.cmd == "scale" or req.rolling:  # issue 9
        what = f"scaled to {req.count}" if req.cmd == "scale" else "rolling restart begun"
        if req.rolling and not reply.get("rolling"):
            what = "rolling restart: nothing to replace"
        return f"{req.target}: {what}\n"
    if req.cmd == "signal" and isinstance(instances, list):
        return f"{reply.get('signal')} sent to {', '.join(map(str, instances))}\n"
    out = []
    for inst in instances if isinstance(instances, list) else []:
        if isinstance(inst, dict):
            pending = ", will start once stopped" if inst.get("pending_start") else ""
            out.append(f"{inst.get('name')}: {inst.get('state')}{pending}\n")
    return "".join(out)


def run(paths: Sequence[str], req: proto.Request, as_json: bool, out: TextIO, err: TextIO) -> int:
    try:
        reply = request(paths, req)
    except CtlError as exc:
        print(f"pinit ctl: {exc}", file=err)
        return exc.code
    if as_json:
        print(json.dumps(reply, indent=2), file=out)
    elif reply.get("ok"):
        out.write(format_reply(req, reply))
    if not reply.get("ok"):
        if not as_json:
            print(f"pinit ctl: {reply.get('error')}", file=err)
            errors = reply.get("errors")
            for line in errors if isinstance(errors, list) else []:
                print(f"  {line}", file=err)
        return ERROR_REPLY
    return OK


def health(
    paths: Sequence[str],
    req: proto.Request,
    timeout: float,
    *,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """Issue 8: `pinit ctl health`, for Kubernetes exec probes: 0 healthy, 1 not (one line
    naming who and why), 3 when pinit cannot be reached, refused the connection, or did not
    answer within ``timeout``: a probe cannot tell then, and says so with its own code."""
    try:
        reply = request(paths, req, timeout)
    except CtlError as exc:
        print(f"pinit ctl: {exc}", file=err)
        return CONNECT_FAILED
    if as_json:
        print(json.dumps(reply, indent=2), file=out)
    if not reply.get("ok"):
        if not as_json:
            print(f"pinit ctl: {reply.get('error')}", file=err)
        return ERROR_REPLY
    problems = reply.get("problems")
    lines = [str(p) for p in problems] if isinstance(problems, list) else ["no verdict"]
    if reply.get("healthy") is True:
        if not as_json:
            checked = reply.get("checked")
            names = ", ".join(map(str, checked)) if isinstance(checked, list) else ""
            what = "running and ready" if req.ready else "running"
            print(f"ok: {names or 'nothing to check'} {what}", file=out)
        return OK
    if not as_json:
        print("; ".join(lines), file=out)
    return ERROR_REPLY
