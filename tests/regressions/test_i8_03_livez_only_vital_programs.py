"""Issue 8 review: /livez answered 503 as soon as ANY instance's liveness probe had failed once,
a sidecar included, telling the kubelet to kill the whole container for something pinit
restarts itself. /livez now speaks for what ends the container (critical and main programs,
or the program asked for by `?program=NAME`), as the issue says: "no critical program is FATAL
or failing liveness"."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import svc
from tests.integration.test_events import Follower
from tests.integration.test_http import get, serve

# a closed port: every liveness attempt fails; failures high enough that nothing restarts
FAILING = '{ tcp = "127.0.0.1:1", interval = "50ms", timeout = "1s", failures = 1000 }'


def after_a_failed_liveness_attempt(sock: Path, program: str, url: str) -> str:
    """/livez's body once `program`'s liveness probe has failed (its probe record in the event
    stream, kept from the start: the positive marker), which must be a 503."""
    follower = Follower(sock, "--json", "--since-start", program)
    try:
        follower.until(lambda r: r["type"] == "probe" and r["probe"] == "live" and not r["ok"])
    finally:
        follower.kill()
    code, _, body = get(url)
    assert code == 503, body
    return body


def test_a_sidecar_failing_liveness_does_not_fail_livez(
    launch: type[Launch], tmp_path: Path
) -> None:
    _pinit, events, sock, base = serve(
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
    named = after_a_failed_liveness_attempt(sock, "side", base + "/livez?program=side")
    assert "side: failing its liveness probe" in named
    code, _, body = get(base + "/livez")
    assert code == 200, body


def test_a_critical_program_failing_liveness_fails_livez(
    launch: type[Launch], tmp_path: Path
) -> None:
    _pinit, events, sock, base = serve(
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
    body = after_a_failed_liveness_attempt(sock, "core", base + "/livez")
    assert "core: failing its liveness probe" in body
