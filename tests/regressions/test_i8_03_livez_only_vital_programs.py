"""Issue 8 review: /livez answered 503 as soon as ANY instance's liveness probe had failed once,
a sidecar included, telling the kubelet to kill the whole container for something pinit
restarts itself. /livez now speaks for what ends the container (critical and main programs,
or the program asked for by `?program=NAME`), as the issue says: "no critical program is FATAL
or failing liveness"."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import svc
from tests.integration.test_http import get, serve

# a closed port: every liveness attempt fails; failures high enough that nothing restarts
FAILING = '{ tcp = "127.0.0.1:1", interval = "50ms", timeout = "1s", failures = 1000 }'


def until_503(url: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        code, _, body = get(url)
        if code == 503:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{url} never answered 503")


def test_a_sidecar_failing_liveness_does_not_fail_livez(
    launch: type[Launch], tmp_path: Path
) -> None:
    _pinit, events, _, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.core]
        command = {svc("run", "core")}
        critical = true
        start_seconds = 0
        [programs.side]
        command = {svc("run", "side")}
        start_seconds = 0
        live = {FAILING}
        """,
    )
    events.wait("side", "start")
    # named, the sidecar's own answer: failing (the positive marker that its probe ran)
    assert "side: failing its liveness probe" in until_503(base + "/livez?program=side")
    code, _, body = get(base + "/livez")
    assert code == 200, body


def test_a_critical_program_failing_liveness_fails_livez(
    launch: type[Launch], tmp_path: Path
) -> None:
    _pinit, events, _, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.core]
        command = {svc("run", "core")}
        critical = true
        start_seconds = 0
        live = {FAILING}
        """,
    )
    events.wait("core", "start")
    assert "core: failing its liveness probe" in until_503(base + "/livez")
