"""Regression (issue 8 review): `ctl events` followers could take every control connection.

A follower that is caught up is never idle in the sweep's sense (it keeps nobody waiting), so
MAX_CLIENTS of them left the control socket unable to accept anyone else for as long as they
stayed: `pinit ctl health` (a Kubernetes exec probe) then timed out and the container was
restarted. Followers are now capped below MAX_CLIENTS; the one past the cap is refused.
"""

from __future__ import annotations

import json
import signal
import socket
import textwrap
from pathlib import Path

from pinit.control.server import MAX_CLIENTS
from tests.conftest import Launch
from tests.integration.supervise import start, svc
from tests.integration.test_ctl import ctl


def test_status_answers_while_many_followers_are_connected(
    launch: type[Launch], tmp_path: Path
) -> None:
    sock_path = tmp_path / "ctl.sock"
    body = f"""
        [pinit]
        control_socket = "{sock_path}"
        [programs.web]
        command = {svc("run", "web")}
        """
    pinit, events = start(launch, tmp_path, textwrap.dedent(body), mode="plain")
    events.wait("web", "start")
    pinit.wait_stderr("control socket")
    followers: list[socket.socket] = []
    replies: list[dict[str, object]] = []
    try:
        for _ in range(MAX_CLIENTS):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(str(sock_path))
            s.sendall(b'{"cmd": "events"}\n')
            replies.append(json.loads(s.makefile("rb").readline()))
            followers.append(s)
        assert replies[0] == {"ok": True, "stream": "events"}
        refused = [r for r in replies if not r.get("ok")]
        assert refused and "followers" in str(refused[0].get("error")), replies[-1]
        rc, out, err = ctl(sock_path, "health")  # a probe still gets in
        assert rc == 0, (out, err)
    finally:
        for s in followers:
            s.close()
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
