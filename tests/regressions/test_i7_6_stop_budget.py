"""Issue 7.6: ``[pinit] stop_budget`` bounds the whole shutdown, however stop_timeouts add up.

Kubernetes KILLs the pod at terminationGracePeriodSeconds; pinit with a program that ignores
TERM and has ``stop_timeout = "60s"`` used to wait the full minute, so the orchestrator's KILL
cut it off before the shutdown report. With a budget of 1 s, pinit KILLs what is left at 1 s,
says so in the report, and exits.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.conftest import ROOT, Launch, pinit_bin, run
from tests.integration.supervise import start, svc

BUDGET = 1.0
SLACK = 3.0  # the KILL, the reap, the report, a loaded CI machine


def test_budget_spent_kills_what_is_left_and_pinit_exits(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [pinit]
        stop_budget = "{BUDGET}s"
        [programs.stub]
        command = {svc("stubborn", "stub")}
        stop_timeout = "60s"
        [programs.web]
        command = {svc("run", "web")}
        after = ["stub"]
        """,
    )
    events.wait("stub", "grandchild")
    events.wait("web", "start")
    began = time.monotonic()
    pinit.signal(signal.SIGTERM)
    events.wait("web", "term")  # the ordered stop went on as usual until the budget
    rc, _, err = pinit.finish(timeout=BUDGET + SLACK + 5)
    took = time.monotonic() - began
    assert took < BUDGET + SLACK, (took, err)
    assert "stop budget of 1s spent: SIGKILL to everything left" in err, err
    assert "stub: SIGTERM, gone after" in err and "needed SIGKILL" in err, err
    assert rc == 128 + signal.SIGKILL, err  # stub did not stop gracefully


def test_check_explain_shows_the_budget_and_warns_when_timeouts_cannot_fit(
    tmp_path: Path,
) -> None:
    config = tmp_path / "pinit.toml"
    config.write_text(
        '[pinit]\nstop_budget = "5s"\n[programs.a]\ncommand = ["true"]\nstop_timeout = "60s"\n'
    )
    rc, out, err = run([*pinit_bin(), "check", "--explain", "--config", str(config)], "plain")
    assert rc == 0, err
    assert "stop budget: 5s" in out
    assert "worst-case stop 72.0s exceeds pinit.stop_budget 5s" in out
    assert "warning: worst-case stop 72.0s exceeds" in err  # also without --explain
    rc, out, _ = run(
        [*pinit_bin(), "check", "--explain", "--config", str(ROOT / "examples" / "pinit.toml")],
        "plain",
    )
    assert rc == 0 and "stop budget: none" in out
