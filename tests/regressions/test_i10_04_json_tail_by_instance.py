"""Regression (issue 8 x issue 10 merge): `ctl logs NAME-N` of a passthrough-only program
printed nothing under `[pinit] log_format = "json"`.

The in-memory tail keeps the blocks exactly as passthrough printed them; the operator kept an
instance's own lines by their `NAME-N | ` prefix, which JSON lines (`{"ts":...,"instance":
"NAME-N",...}`) never have. The router, which knows the format, now picks an instance's lines.
"""

from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import start
from tests.integration.test_ctl import ctl


def test_ctl_logs_of_one_instance_in_json_mode(launch: type[Launch], tmp_path: Path) -> None:
    sock = tmp_path / "ctl.sock"
    body = f"""
        [pinit]
        control_socket = "{sock}"
        log_format = "json"
        [programs.p]
        command = ["sh", "-c", "echo hello-$$PINIT_PROCESS_NUM; exec sleep 1000"]
        numprocs = 2
        stdout = {{ passthrough = true }}
        """
    pinit, _ = start(launch, tmp_path, textwrap.dedent(body), mode="plain")
    seen: set[str] = set()
    while len(seen) < 2:  # both lines on pinit's stdout: both are in the tail already
        record = json.loads(pinit.readline(timeout=15))
        if record.get("program") == "p":
            seen.add(record["msg"])
    assert seen == {"hello-1", "hello-2"}
    rc, out, err = ctl(sock, "logs", "p-2")
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["instance"], r["msg"]) for r in lines] == [("p-2", "hello-2")], out
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
