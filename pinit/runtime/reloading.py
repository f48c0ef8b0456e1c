"""HUP and `ctl reload`: whether the file on disk is taken, and telling systemd either way.

Imported at the first reload (most runs never reload: issue 7, speed). Deciding whether a
config is taken is this module's; applying it (the plan's diff, limits, logs) stays the
supervisor's, which owns that state. A loader bug refuses the reload, it never ends PID 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pinit.config import resolve
from pinit.config.maincmd import CMD_NAME, with_command
from pinit.config.schema import Config, ConfigError
from pinit.model import plan as planner
from pinit.records import replace
from pinit.runtime.log import report_exception

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pinit.notify.client import Upstream

__all__ = ["load", "refused"]


def load(
    current: Config,
    plan: planner.Plan,
    environ: Mapping[str, str],
    command: Sequence[str],
    *,
    say: Callable[[str], None],
    upstream: Upstream,
) -> Config | list[str]:
    """The new config (systemd told RELOADING=1), or a refused one's errors (said, and
    told upstream: `refused`)."""
    path = current.path
    try:
        config, errors = resolve.load_checked(path, environ, require_programs=not command)
    except Exception as exc:  # a loader bug refuses the reload, it does not end PID 1
        report_exception(exc)
        say(f"reload refused: {path}: internal error: {exc!r}")
        refused(upstream, plan, path)
        return [f"{path}: internal error: {exc!r}"]
    if config is not None and command:
        running = plan.instances.get((CMD_NAME, 0))
        try:
            keep = running.program if running is not None else None
            config = with_command(config, command, keep)
        except ValueError as exc:
            config, errors = None, [*errors, ConfigError("", str(exc), file=path)]
    if config is None:
        for error in errors:
            say(f"reload refused: {error}")
        refused(upstream, plan, path)
        return [str(error) for error in errors]
    if config.name != current.name:  # named at start (--name): title and socket stay
        config = replace(config, name=current.name)
    say(f"reloading {path}")
    if config.http != current.http:  # issue 8: bound once, after the boot's spawns
        say("warning: [pinit] http changes take effect at the next start")
    upstream.reloading()
    return config


def refused(upstream: Upstream, plan: planner.Plan, path: str) -> None:
    """Type=notify-reload (issue 10): systemd waits after its SIGHUP for RELOADING=1 then
    READY=1, and a reload that never says so hangs `systemctl reload` until its timeout.
    A refused config is a finished reload that changed nothing: say both, and why."""
    upstream.reloading()
    if plan.phase is planner.Phase.RUNNING:
        upstream.ready(f"reload refused: {path}: the running config stays")
