"""Issue 9: an instance's sd_notify message, turned into model events.

The sender was already accepted by its kernel credentials (``NotifyServer``'s ``accept``: a
main pid or a process in an instance's group); this maps it to its instance and each field to
an event, as systemd's ``service_notify_message`` does (sd_notify(3)):

``READY=1`` (readiness only for ``ready.notify`` programs, issue 7.4; also ends a reload),
``RELOADING=1`` / ``STOPPING=1`` (a sub-state shown in ``ctl status``), ``STATUS=`` (kept, one
line), ``WATCHDOG=1`` / ``WATCHDOG=trigger`` (only for programs with ``watchdog``),
``MAINPID=`` (only a pid of the instance: the sender itself, a process in its process group, or
a descendant of its main pid; pinit is a subreaper, so a forked daemon is reaped by pinit once
its parent exits), ``EXTEND_TIMEOUT_USEC=``. A value that does not parse, a MAINPID naming
someone else's process, or a datagram with no field at all is counted in ``malformed`` and
ignored; ``NotifyServer`` counts what it refused unparsed (``refused``, ``oversized``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from pinit.config.schema import ReadyKind
from pinit.model.events import (
    Event,
    ExtendTimeout,
    MainPidNotified,
    ReadyObserved,
    Recycle,
    StatusNotified,
    WatchdogPing,
)
from pinit.model.instance import Instance, Key

__all__ = ["Inbox"]

MAX_ANCESTRY = 64  # /proc/PID/stat reads to find the main pid among a MAINPID's ancestors


class Inbox:
    def __init__(
        self,
        owner: Callable[[int], Key | None],
        instances: Callable[[], Mapping[Key, Instance]],
        post: Callable[[Key, Event], None],
        debug: Callable[[str], None],
    ) -> None:
        self._owner = owner
        self._instances = instances
        self._post = post
        self._debug = debug
        self.malformed = 0  # datagrams (or fields) that did not parse, or named another's pid

    def message(self, pid: int, fields: dict[str, str]) -> None:
        key = self._owner(pid)
        inst = self._instances().get(key) if key is not None else None
        if key is None or inst is None:
            self._debug(f"notify message from unknown pid {pid} ignored")
            return
        if not fields:
            self._bad(inst, pid, "no KEY=VALUE field")
            return
        for event in self._events(inst, pid, fields):
            self._post(key, event)

    def _events(self, inst: Instance, sender: int, fields: dict[str, str]) -> list[Event]:
        events: list[Event] = []
        prog = inst.program
        if "MAINPID" in fields:  # first: READY=1 in the same datagram concerns the new pid
            pid = _int(fields["MAINPID"])
            if pid is None or pid <= 0:
                self._bad(inst, sender, f"MAINPID={fields['MAINPID']!r}")
            elif not (pid == sender or _belongs(pid, inst)):
                self._bad(inst, sender, f"MAINPID={pid} is not a process of it")
            else:
                events.append(MainPidNotified(pid))
        if fields.get("READY") == "1":
            if prog.ready.kind is ReadyKind.NOTIFY:
                events.append(ReadyObserved())
            else:  # issue 7.4: readiness comes from the configured probe only
                self._debug(f"{inst.name}: READY=1 ignored: its readiness is its probe")
        sub: str | None = None
        if fields.get("RELOADING") == "1":
            sub = "reloading"
        elif fields.get("STOPPING") == "1":
            sub = "stopping"
        elif fields.get("READY") == "1" and inst.sub_state == "reloading":
            sub = ""
        text = None
        if "STATUS" in fields:
            text = fields["STATUS"].encode("unicode_escape").decode()  # one safe line
            self._debug(f"{inst.name}: status: {text[:200]}")
        if text is not None or sub is not None:
            events.append(StatusNotified(text, sub))
        if "EXTEND_TIMEOUT_USEC" in fields:
            usec = _int(fields["EXTEND_TIMEOUT_USEC"])
            if usec is None or usec < 0:
                self._bad(inst, sender, f"EXTEND_TIMEOUT_USEC={fields['EXTEND_TIMEOUT_USEC']!r}")
            else:
                events.append(ExtendTimeout(usec / 1_000_000))
        ping = fields.get("WATCHDOG")
        if ping is not None and prog.watchdog > 0:
            if ping == "1":
                events.append(WatchdogPing())
            elif ping == "trigger":
                events.append(Recycle("watchdog"))
            else:
                self._bad(inst, sender, f"WATCHDOG={ping!r}")
        return events

    def _bad(self, inst: Instance, sender: int, what: str) -> None:
        """Counted, and said (with -v) at 1, 2, 4, 8...: a flood costs log2 lines."""
        self.malformed += 1
        if self.malformed & (self.malformed - 1) == 0:
            shown = what.encode("unicode_escape").decode()[:120]
            self._debug(
                f"notify: {self.malformed} malformed so far (latest from {inst.name}, "
                f"pid {sender}: {shown})"
            )


def _int(text: str) -> int | None:
    """ASCII digits only: ``str.isdigit`` is true of "²", which ``int`` refuses (a ValueError
    in the loop would lose the whole datagram; regression i9_02)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else None


def _belongs(pid: int, inst: Instance) -> bool:
    """In the instance's process group, or a descendant of its main pid."""
    try:
        if inst.pgid is not None and os.getpgid(pid) == inst.pgid:
            return True
    except OSError:
        return False
    for _ in range(MAX_ANCESTRY):
        pid = _parent(pid)
        if pid <= 1:
            return False
        if pid == inst.pid:
            return True
    return False


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0
    fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...
    return int(fields[1]) if len(fields) > 1 else 0
