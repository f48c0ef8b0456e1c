"""`pinit ctl logs` and `pinit ctl logs --reopen`: the operator's log verbs (``operator.py``).

``logs`` reads the tail of the instance's log file in a short-lived thread: a read from a
stalled disk must not stall PID 1 (DESIGN §2c), and the reply comes when the read is done. A
passthrough-only program has no file: its tail comes from memory (issue 10, ``logs/tail.py``).
``reopen`` closes and reopens every log file on its writer thread (logrotate's postrotate).
"""

from __future__ import annotations

import os

from pinit.control import proto
from pinit.control.server import Respond
from pinit.model.instance import Instance, Key

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.operator import Host

__all__ = ["REOPEN_WITHIN", "TAIL_BYTES", "log_files", "logs", "reopen"]

TAIL_BYTES = 256 << 10  # per file: a reply stays small, and the read short
# A writer stalled on its disk must not hold the client (and its connection) forever: after
# this the reply names the files not reopened yet (they still are, when their writer can).
REOPEN_WITHIN = 10.0


def logs(host: Host, keys: list[Key], req: proto.Request, respond: Respond) -> None:
    insts = [host.plan().instances[k] for k in keys]
    files = list(dict.fromkeys(f for inst in insts for f in log_files(inst)))
    tails = _tails(host, req, insts)
    if tails is not None:  # issue 10: passthrough-only programs, from memory
        respond({"ok": True, "files": [], "tails": tails})
        return
    if not files:
        prog = insts[0].program
        where = (
            "pinit's stdout, prefixed with its name (passthrough)"
            if prog.stdout.passthrough
            else "pinit's own stdout/stderr (no capture)"
        )
        respond(proto.error(f"logs: {req.target} has no log file: its output goes to {where}"))
        return

    def read() -> None:
        reply: dict[str, object]
        try:
            reply = {"ok": True, "files": [_tail(path, req.lines) for path in files]}
        except Exception as exc:  # the client must get an answer whatever happened
            reply = proto.error(f"logs: {exc!r}")
        host.call_soon_threadsafe(lambda: respond(reply))

    import threading  # at the first `ctl logs`, not at PID 1's start (issue 7, speed)

    threading.Thread(target=read, name="pinit-ctl-logs", daemon=True).start()


# -- issue 10: reopen, and the tails of passthrough-only programs -------------------------------
def reopen(host: Host, respond: Respond) -> None:
    """Every log file closed and opened again on its writer thread; the reply comes once
    all have, so a postrotate script may compress the old file right after; an error naming
    the laggards if some have not within REOPEN_WITHIN (so the script does not compress)."""
    if host.logs is None:
        respond({"ok": True, "files": []})
        return

    def late(pending: list[str]) -> None:
        respond(
            proto.error(
                f"reopen: not done after {REOPEN_WITHIN:g}s (a stalled disk?): "
                f"{', '.join(pending)}; they reopen when their writer thread gets to it"
            )
        )

    host.logs.reopen(lambda done: respond({"ok": True, "files": done}), REOPEN_WITHIN, late)


def _tails(host: Host, req: proto.Request, insts: list[Instance]) -> list[object] | None:
    """The in-memory tails of the target's passthrough-only programs; None if it has a
    log file (the client reads and follows files itself) or no passthrough at all."""
    router = host.logs
    progs = {i.program.name: i.program for i in insts}
    if router is None or any(log_files(i) for i in insts):
        return None
    if not any(p.stdout.passthrough for p in progs.values()):
        return None
    cursors = dict(req.after or ())
    out: list[object] = []
    for name in sorted(progs):
        tail = router.tail(name)
        if tail is None:
            out.append({"program": name, "lines": [], "lost": 0, "next": 0})
            continue
        lines, lost, nxt = tail.since(cursors.get(name), req.lines)
        if req.target not in (name, "all"):  # one instance: its own lines
            lines = router.instance_lines(lines, req.target)
        text = [ln.decode("utf-8", "replace") for ln in lines]
        out.append({"program": name, "lines": text, "lost": lost, "next": nxt})
    return out


def log_files(inst: Instance) -> list[str]:
    prog = inst.program
    specs = [prog.stdout] if prog.stderr is None else [prog.stdout, prog.stderr]
    return list(dict.fromkeys(s.file for s in specs if s.file))


def _tail(path: str, lines: int) -> dict[str, object]:
    """The last `lines` lines of `path`, from at most TAIL_BYTES at its end."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            f.seek(start)
            data = f.read(TAIL_BYTES)
    except OSError as exc:
        return {"path": path, "error": exc.strerror or str(exc), "lines": []}
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    if start > 0 and parts:
        parts = parts[1:]  # the first one is cut
    return {
        "path": path,
        "lines": [p.decode("utf-8", "replace") for p in parts[-lines:]],
    }
