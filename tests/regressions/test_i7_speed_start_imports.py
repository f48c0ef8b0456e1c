"""Issue 7, speed: `pinit --config` imported ~180 modules before its first program ran
(dataclasses with inspect, json, difflib, shutil, the config docs generators, ...): 88 ms
from launch to the program against s6's 13. The start path imports only what it needs;
the rest loads at first use (an error message, an include, a probe, a control client).

Run from the source tree with `-S` (no site: the editable install's finder would import
pathlib, urllib and more before pinit does), the venv's site-packages appended to sys.path.
"""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NOT_ON_START_PATH = {
    # the TOML reader's (issue 7): its own reader imports none of these; re for errors only
    "typing",
    "re",
    "datetime",
    "string",
    "argparse",
    "tomllib",  # issue 7: pinit.config.toml reads the config without typing, re, string
    "dataclasses",
    "inspect",
    "json",
    "difflib",
    "glob",
    "shutil",  # config.resolve walks PATH itself: shutil brought zlib, bz2 and lzma
    # issue 7, PSS: the control socket is _socket's; socket.py made four IntEnum classes and
    # brought selectors, math and array, ~350 kB of PID 1 for good
    "socket",
    "selectors",
    "array",
    "ipaddress",
    "urllib.parse",
    "shlex",
    "threading",
    "psutil",
    "pinit.config.docgen",
    # the key reference (meanings, examples, JSON Schema): the loader checks config/keyset.py
    "pinit.config.reference",
    "pinit.config.refentry",
    "pinit.config.refprogram",
    "pinit.config.refprogtail",
    "pinit.checkcmd",
    "pinit.ctlcmd",  # `pinit ctl`: its parser and dispatch
    "pinit.control.client",
    "pinit.control.follow",  # issue 8: `ctl events`, client side
    "pinit.logs.jsonlog",  # issue 8: only with log_format = "json"
    "pinit.model.roll",  # issue 9: at the first roll
    "pinit.model.scale",  # issue 9: at the first `ctl scale`
    "pinit.model.notified",  # issue 9: at the first notify datagram, watchdog or MAINPID=
    "pinit.model.release",  # issue 9: at binds_to's first Released
    "configparser",  # issue 10: `pinit import` is a translator, never on the start path
    "pinit.importer",
    "pinit.importer.supervisord",
    "pinit.importer.procfile",
    "pinit.importer.supini",
    "pinit.importer.supkeys",
    "pinit.importer.emit",
    "pinit.model.liveness",  # issue 8: at the first liveness verdict
    "pinit.runtime.liveness",  # issue 8: at the first program with `live` that runs
    "pinit.model.health",  # issue 8: at the first `ctl health`
    "pinit.runtime.inbox",  # issue 9: only once a program uses the notify socket
    "pinit.runtime.notifywire",  # issue 9: with the inbox
    "pinit.runtime.reloading",  # at the first reload
    "pinit.runtime.limits",  # issue 9: only when max_memory or max_lifetime is set
    "pinit.model.binds",  # issue 9: only with binds_to
    # issue 10: logs features, imported only when configured or asked for
    "pinit.control.logfollow",
    "pinit.logs.retain",
    "pinit.logs.stamp",
    "pinit.logs.tail",
    "pinit.logs.reopen",  # issue 10: only on a reopen
    "zlib",
    # issue 8: the HTTP endpoint, only when [pinit] http is set
    "h11",
    "pinit.config.listen",
    "pinit.runtime.httpserve",
    "pinit.runtime.httpgate",
    "pinit.runtime.httpframe",
    "pinit.runtime.httplisten",
    "pinit.runtime.httpreply",
    "pinit.runtime.httpapp",
    "pinit.runtime.metrics",
}

# Work no program waits for comes after the boot's spawns (issue 7, speed): the control
# socket (its server, the operator), the notify socket when no program uses it, the RNG that
# only backoff jitter needs.
NOT_BEFORE_FIRST_SPAWN = {
    "random",
    "pinit.control.server",
    "pinit.runtime.operator",
    "pinit.runtime.ctllogs",  # with the operator
    "pinit.runtime.endpoints",  # with the operator
    "pinit.notify.server",
    "pinit.control.stream",  # issue 8: with the control server
    "pinit.control.listen",
    "pinit.control.accept",  # with the control server
    "pinit.runtime.proctree",  # with the operator (its usage sampler); stops, /metrics
}

RUN = """
import os, sys
def first_spawn(event, args):
    # Said the moment the first program is spawned (runtime/posixspawn.py resolves this
    # symbol in its first spawn; os.fork for the other path): pinit's own "started pid" line
    # may wait in its log buffer, stderr being full, while later imports are printed.
    if event == "os.fork" or (event == "ctypes.dlsym" and "file_actions_init" in str(args)):
        if not first_spawn.said:
            first_spawn.said = os.write(2, b"\\nFIRST-SPAWN\\n")
first_spawn.said = 0
sys.addaudithook(first_spawn)
sys.path[:0] = [{root!r}]
sys.path += {site!r}
from pinit.cli import main
sys.exit(main(["--config", {config!r}]))
"""


def _run_importtime(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`script` under `python -S -X importtime`, which lists every import on stderr."""
    return subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=cwd,
    )


def _imported(stderr: str) -> set[str]:
    """The modules an importtime listing names."""
    return {
        line.rpartition("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


def test_config_start_imports_only_what_it_needs(tmp_path: Path) -> None:
    config = tmp_path / "pinit.toml"
    config.write_text(
        "[programs.once]\n"
        # the program stops pinit: its start is the end of the start path
        'command = ["/bin/sh", "-c", "kill -TERM $PPID; exec sleep 30"]\n'
        'restart = "never"\n'
        "stop_timeout = 5\n"
    )
    script = RUN.format(root=str(ROOT), site=site.getsitepackages(), config=str(config))
    done = _run_importtime(script, tmp_path)
    assert "once: started pid" in done.stderr, done.stderr[-2000:]
    imported = _imported(done.stderr)
    assert "pinit.runtime.supervisor" in imported  # the measure saw the start path
    assert sorted(imported & NOT_ON_START_PATH) == []
    # -X importtime writes to stderr as pinit does: what came before the first spawn
    assert "FIRST-SPAWN" in done.stderr
    before_spawn = _imported(done.stderr.partition("FIRST-SPAWN")[0])
    assert "pinit.runtime.spawn" in before_spawn
    assert sorted(before_spawn & NOT_BEFORE_FIRST_SPAWN) == []


# `pinit -- CMD` reads no config: the PATH search it shares with `pinit check` lives in the
# leaf config.pathsearch, and config.resolve (schema, pwd, grp: ~2.5 ms) stayed off its start.
NOT_ON_CMD_START = {"pinit.config.resolve", "pinit.config.schema", "pinit.config.load", "pwd"}


def test_cmd_start_loads_no_config_stack(tmp_path: Path) -> None:
    script = (
        f"import sys\nsys.path[:0] = [{str(ROOT)!r}]\nsys.path += {site.getsitepackages()!r}\n"
        "from pinit.cli import main\nsys.exit(main(['--', 'true']))\n"
    )
    done = _run_importtime(script, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = _imported(done.stderr)
    assert "pinit.runtime.single" in imported  # the measure saw the start path
    assert "pinit.config.pathsearch" in imported
    assert sorted(imported & NOT_ON_CMD_START) == []
