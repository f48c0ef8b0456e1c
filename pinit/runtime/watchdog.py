"""The systemd watchdog ping, on a deadline of the loop: the only timer an idle pinit keeps,
and only when systemd asked for it (WatchdogSec=)."""

from __future__ import annotations

from collections.abc import Callable

from pinit.notify.client import Upstream
from pinit.runtime.loop import Loop


def start(loop: Loop, upstream: Upstream, healthy: Callable[[], bool]) -> None:
    interval = upstream.watchdog_interval
    if interval is None or not upstream.enabled:
        return

    def ping() -> None:
        if healthy():
            upstream.ping()
            loop.call_later(interval, ping)

    ping()
