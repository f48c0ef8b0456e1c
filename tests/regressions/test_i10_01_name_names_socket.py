"""Issue 10, units/pinit@.service: `pinit --name NAME` named the process title only; the control
socket still came from `[pinit] name` (default "pinit"), so every instance of the template
(`pinit@web`, `pinit@jobs`) bound the same /run/pinit/pinit.sock and `pinit ctl` reached
whichever bound last. Now --name names the socket too, and `pinit ctl --name NAME` finds it."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

from tests.conftest import Launch, pinit_bin


def test_name_names_the_control_socket(launch: type[Launch], tmp_path: Path) -> None:
    name = f"i10-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "pinit.toml"
    config.write_text('[programs.s]\ncommand = ["sleep", "1000"]\n')
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("PINIT_CONTROL_SOCKET", None)
    pinit = launch([*pinit_bin(), "--name", name, "--config", str(config)], "plain", env=env)
    line = pinit.wait_stderr("control socket ")
    assert line.endswith(f"/{name}.sock"), line
    with open(f"/proc/{pinit.init_pid()}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == f"pinit-{name}-manager".encode()
    done = subprocess.run(
        [*pinit_bin(), "ctl", "--name", name, "status"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "s" in done.stdout
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish()
    assert code == 0, err
