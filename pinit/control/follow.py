"""`pinit ctl events [--json] [NAME...]`: follow pinit's events until it stops (issue 8).

The client half of the one streaming command (``control/stream.py`` is the server's): send the
request, check the first reply, then print every record as it comes, one line each, a human
line by default or the record's JSON as pinit sent it. Ends with 0 at EOF (pinit stopped, its
last record says with which code), 1 if pinit refused the request, 3 if none could be reached.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from typing import TextIO

from pinit.control import proto
from pinit.control.client import (
    CONNECT_FAILED,
    ERROR_REPLY,
    OK,
    TIMEOUT,
    CtlError,
    connect_first,
)

__all__ = ["follow", "format_event"]


def _when(record: dict[str, object]) -> str:
    ts = record.get("ts")
    if not isinstance(ts, int | float):
        return "--:--:--.---"
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def _names(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else ""


def _what(r: dict[str, object]) -> str:
    kind, reason = r.get("type"), r.get("reason")
    why = f" ({reason})" if reason else ""
    if kind == "state":
        ready = ", ready" if r.get("ready") else ""
        return f"{r.get('from')} -> {r.get('to')}{ready}{why}"
    if kind == "exit":
        sig = r.get("signal")
        how = f"killed by {sig}" if sig else "exited"
        return f"pid {r.get('pid')} {how} (code {r.get('code')})"
    if kind == "backoff":
        return f"restart in {r.get('delay')}s{why}, failed starts: {r.get('attempts')}"
    if kind == "spawn":
        return f"spawned pid {r.get('pid')}"
    if kind == "spawn_failed":
        return f"cannot spawn: {reason} (code {r.get('code')})"
    if kind == "probe":
        verdict = "ok" if r.get("ok") else "failed"
        return f"{r.get('probe')} probe {verdict}{why}"
    if kind in ("signal", "kill"):
        return f"{r.get('signal')} sent{why}"
    if kind == "reload":
        parts = [
            f"{label} {_names(r.get(label))}"
            for label in ("added", "removed", "changed")
            if _names(r.get(label))
        ]
        return "reload: " + ("; ".join(parts) or "no changes")
    if kind == "phase":
        return f"{r.get('from')} -> {r.get('to')}{why}"
    if kind == "stray":
        return f"stray pid {r.get('pid')} ({r.get('command')}) swept"
    if kind == "done":
        return f"exited with code {r.get('code')}"
    skip = {"type", "ts", "mono", "program", "instance", "seq"}
    rest = " ".join(f"{k}={v}" for k, v in r.items() if k not in skip and v is not None)
    return f"{kind} {rest}".rstrip()


def format_event(record: dict[str, object]) -> str:
    """One human line: local time, who (an instance, or pinit), what happened."""
    if "lost" in record and "type" not in record:
        return f"... {record.get('lost')} events lost (this reader was too slow)"
    who = record.get("instance") or record.get("program") or "pinit"
    return f"{_when(record)}  {who}  {_what(record)}"


def _print(line: bytes, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(line.decode(errors="replace") + "\n")
        return
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict):
        out.write(format_event(record) + "\n")


def follow(
    paths: Sequence[str], req: proto.Request, as_json: bool, out: TextIO, err: TextIO
) -> int:
    try:
        sock, path, _ = connect_first(paths, TIMEOUT)
    except CtlError as exc:
        print(f"pinit ctl: {exc}", file=err)
        return CONNECT_FAILED
    with sock:
        return _stream(sock, path, req, as_json=as_json, out=out, err=err)


def _stream(
    sock: socket.socket, path: str, req: proto.Request, *, as_json: bool, out: TextIO, err: TextIO
) -> int:
    reader = proto.LineReader(limit=1 << 20)
    answered = False
    try:
        sock.settimeout(TIMEOUT)
        sock.sendall(proto.encode(proto.request_json(req)))
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            for line in reader.feed(chunk):
                if line is None:
                    continue
                if not answered:
                    answered = True
                    sock.settimeout(None)  # events may be minutes apart: wait for them
                    code = _first(line, path, err)
                    if code is not None:
                        return code
                    continue
                _print(line, as_json, out)
            out.flush()
    except BrokenPipeError:  # our reader left (`| head`): that ends following, quietly
        _quiet(out)
        return OK
    except TimeoutError:
        print(f"pinit ctl: {path}: no reply within {TIMEOUT:g}s", file=err)
        return ERROR_REPLY
    except KeyboardInterrupt:
        return OK
    except OSError as exc:
        print(f"pinit ctl: {path}: {exc.strerror or exc}", file=err)
        return ERROR_REPLY
    if not answered:
        print(f"pinit ctl: {path}: closed without a reply", file=err)
        return ERROR_REPLY
    return OK


def _quiet(out: TextIO) -> None:
    """Point the closed output at /dev/null so the interpreter's exit flush stays silent."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, out.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _first(line: bytes, path: str, err: TextIO) -> int | None:
    """The reply to the request: None to go on following, else the exit code."""
    try:
        reply = proto.decode_reply(line)
    except ValueError:
        print(f"pinit ctl: {path}: not a pinit reply: {line[:200]!r}", file=err)
        return ERROR_REPLY
    if not reply.get("ok"):
        print(f"pinit ctl: {reply.get('error')}", file=err)
        return ERROR_REPLY
    return None
