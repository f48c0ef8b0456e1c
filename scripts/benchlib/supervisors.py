"""Supervisor rows for issue 3: each writes its own config for N copies of one program.

Every runner is asked for the same thing: N copies of `command`, restarted at once when they
die (no backoff, no minimum run time where the supervisor has such a knob), output discarded.
s6 and runit get one service directory per copy with a `#!/bin/sh` run script that execs the
program, as their users write them.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from benchlib.inits import BENCH_VENV


class Runner(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def is_pinit(self) -> bool: ...

    def available(self) -> str | None:
        """None when runnable, else why not (the row is then reported with that reason)."""

    def prepare(self, work: Path, command: list[str], count: int) -> list[str]:
        """Write the config under `work`; return the argv that starts the supervisor."""


def _run_script(command: list[str]) -> str:
    return "#!/bin/sh\nexec " + shlex.join(command) + "\n"


def _service_dirs(base: Path, command: list[str], count: int) -> None:
    for num in range(count):
        service = base / f"p{num:03d}"
        service.mkdir(parents=True)
        run = service / "run"
        run.write_text(_run_script(command))
        run.chmod(0o755)


@dataclass(frozen=True, slots=True)
class Supervisord:
    """autorestart with startsecs=0: supervisord never waits before a restart by config."""

    name: str = "supervisord"
    is_pinit: bool = False

    @property
    def binary(self) -> Path:
        return BENCH_VENV / "bin" / "supervisord"

    def available(self) -> str | None:
        return None if self.binary.exists() else f"{self.binary} missing"

    def prepare(self, work: Path, command: list[str], count: int) -> list[str]:
        conf = work / "supervisord.conf"
        conf.write_text(
            "[supervisord]\nuser=root\n"
            f"nodaemon=true\nlogfile={work}/supervisord.log\npidfile={work}/supervisord.pid\n"
            "minfds=4096\nloglevel=warn\n\n"
            "[program:svc]\n"
            f"command={shlex.join(command)}\n"
            f"numprocs={count}\nprocess_name=%(program_name)s_%(process_num)03d\n"
            "autorestart=true\nstartsecs=0\nstartretries=1000\n"
            "stdout_logfile=NONE\nstderr_logfile=NONE\n"
        )
        return [str(self.binary), "-n", "-c", str(conf)]


@dataclass(frozen=True, slots=True)
class S6:
    name: str = "s6 (s6-svscan)"
    is_pinit: bool = False

    def available(self) -> str | None:
        return None if shutil.which("s6-svscan") else "s6-svscan not found (apt-get install s6)"

    def prepare(self, work: Path, command: list[str], count: int) -> list[str]:
        _service_dirs(work / "scan", command, count)
        return [str(shutil.which("s6-svscan")), str(work / "scan")]


@dataclass(frozen=True, slots=True)
class Runit:
    name: str = "runit (runsvdir)"
    is_pinit: bool = False

    def available(self) -> str | None:
        return None if shutil.which("runsvdir") else "runsvdir not found (apt-get install runit)"

    def prepare(self, work: Path, command: list[str], count: int) -> list[str]:
        _service_dirs(work / "service", command, count)
        return [str(shutil.which("runsvdir")), str(work / "service")]


@dataclass(frozen=True, slots=True)
class Pinit:
    """`pinit --config`: one program with numprocs copies, restart always, no backoff, and
    flap detection / retry limits out of reach, as the peers have none that would trigger."""

    name: str
    path: str
    is_pinit: bool = True

    def available(self) -> str | None:
        return None if Path(self.path).exists() else f"{self.path} missing"

    def prepare(self, work: Path, command: list[str], count: int) -> list[str]:
        conf = work / "pinit.toml"
        # JSON strings are TOML basic strings; `$$` is pinit's literal `$`.
        argv = ", ".join(json.dumps(arg.replace("$", "$$")) for arg in command)
        conf.write_text(
            # Its own control socket (and so its own lock): several pinit rows run at once in
            # the steady-state measure, and one pinit per config name refuses a second.
            f'[pinit]\ncontrol_socket = "{work}/pinit.sock"\n\n'
            "[programs.svc]\n"
            f"command = [{argv}]\n"
            f"numprocs = {count}\n"
            'restart = "always"\n'
            "start_seconds = 0\n"
            'backoff = { initial = "0s" }\n'
            # 20 kills in ~25 s are flapping by pinit's defaults (10 in 60 s -> FATAL);
            # runit and s6 never give up and supervisord only counts failed starts.
            "flap_max = 1000000\n"
            "start_retries = 1000000\n"
        )
        return [self.path, "--config", str(conf)]


def peer_runners() -> list[Runner]:
    return [Supervisord(), S6(), Runit()]
