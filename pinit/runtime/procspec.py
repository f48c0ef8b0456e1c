"""From a configured program instance to the exact SpawnSpec the kernel will see.

Kept apart from the supervisor so that `pinit check --explain` and the runtime can never
disagree about argv, ids and environment. Output fds come from logs.capture (pipes pinit
reads), passed in as `stdio`.
"""

from __future__ import annotations

from collections.abc import Mapping

from pinit.config import resolve
from pinit.config.schema import Program, ReadyKind
from pinit.notify.client import base_environment
from pinit.runtime.spawn import SpawnSpec

__all__ = ["base_environment", "build", "instance_title", "tag_entry", "uses_notify"]


def build(
    prog: Program,
    *,
    index: int,
    name: str,
    base_env: Mapping[str, str],
    notify_socket: str = "",
    stdio: tuple[int | None, int | None] = (None, None),
    title: str = "",
) -> SpawnSpec:
    """The spec; `stdio` are the fds for the child's stdout and stderr (None: pinit's own).
    `title` (issue 9, `title = true`): the `[pinit] name` the argv[0] title is made of.

    Raises LookupError (unknown user/group).
    """
    ident = resolve.identity(prog)
    env = resolve.environment(prog, base_env, ident, index + 1)
    env["PINIT_INSTANCE"] = name
    if notify_socket and uses_notify(prog):
        env["NOTIFY_SOCKET"] = notify_socket
    pid_env = ""
    if notify_socket and prog.watchdog > 0:  # issue 9: systemd's WatchdogSec= environment
        env["WATCHDOG_USEC"] = str(max(1, round(prog.watchdog * 1_000_000)))
        pid_env = "WATCHDOG_PID"  # the child's own pid: set between fork and exec, so these
        # programs take the fork path (~1 ms a spawn) instead of posix_spawn (~0.2 ms)
    return SpawnSpec(
        argv=prog.command,
        env=env,
        cwd=prog.cwd,
        uid=ident.uid if ident else None,
        gid=ident.gid if ident else None,
        groups=ident.groups if ident else None,
        umask=prog.umask,
        rlimits=prog.rlimits,
        new_session=True,
        stdout=stdio[0],
        stderr=stdio[1],
        argv0=instance_title(title, prog.name, index) if title else None,
        pid_env=pid_env,
    )


def instance_title(manager: str, program: str, index: int) -> str:
    """`pinit-NAME-PROGRAM-N` (N = PINIT_PROCESS_NUM, from 1), as Granian names its workers
    and `titles.manager_title` names pinit itself."""
    return f"pinit-{manager}-{program}-{index + 1}"


def uses_notify(prog: Program) -> bool:
    """Only a program that talks sd_notify gets NOTIFY_SOCKET (issue 7.4), as systemd gives it
    only to Type=notify units (or NotifyAccess=): a daemon that sees the variable sends READY=1
    on its own schedule, which must never stand in for the probe its config asks for. A program
    with a `watchdog` (issue 9) gets it too, to ping on; its READY=1 still counts only with
    `ready.notify` (runtime/inbox.py)."""
    return prog.ready.kind is ReadyKind.NOTIFY or prog.watchdog > 0


def tag_entry(name: str) -> bytes:
    """How /proc/PID/environ shows an instance's tag (Instance.name): strays are found by it."""
    return f"PINIT_INSTANCE={name}".encode()
