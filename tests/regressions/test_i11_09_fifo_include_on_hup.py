"""Issue 11.9, inside PID 1: a HUP whose config includes a FIFO blocked the loop in open()
until a writer came (forever). The reload is now refused at once, naming the FIFO, and the
loop goes on: a later HUP with a good config still starts a new program, and TERM still
stops everything."""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import start, svc


def test_a_fifo_included_on_hup_is_refused_and_the_loop_goes_on(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events = start(launch, tmp_path, f"[programs.a]\ncommand = {svc('run', 'a')}\n")
    try:
        events.wait("a", "start")
        fifo = tmp_path / "conf.d" / "b.toml"
        fifo.parent.mkdir()
        os.mkfifo(fifo)
        config = tmp_path / "pinit.toml"
        config.write_text(
            f'[pinit]\ninclude = ["conf.d/*.toml"]\n[programs.a]\ncommand = {svc("run", "a")}\n'
        )
        pinit.signal(signal.SIGHUP)
        line = pinit.wait_stderr("reload refused")
        assert f"cannot read '{fifo}': not a regular file (a FIFO)" in line
        config.write_text(
            textwrap.dedent(
                f"""
                [programs.a]
                command = {svc("run", "a")}
                [programs.c]
                command = {svc("run", "c")}
                """
            )
        )
        pinit.signal(signal.SIGHUP)
        events.wait("c", "start")
        pinit.signal(signal.SIGTERM)
        code, _, _ = pinit.finish()
        assert code == 0
    finally:
        events.close()
