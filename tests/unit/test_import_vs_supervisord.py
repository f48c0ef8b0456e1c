"""`pinit import` reads a config as supervisord itself does: supervisor's own ServerOptions
(the `supervisor` package, a test dependency) reads the same files, and every process it would
run must come out of the import with the same name, command, environment, directory and umask
once pinit's `${X}` / `$$` are resolved the way pinit resolves them."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pinit.config.expand import expand
from pinit.importer import supervisord
from tests.conftest import ROOT

options = pytest.importorskip("supervisor.options")

SHOP = ROOT / "tests" / "data" / "import" / "shop" / "supervisord.conf"
ENV = {
    "REDIS_PORT": "6379",
    "WEB_PORT": "8000",
    "NGINX_PORT": "8080",
    "APP_USER": "root",
}

EDGES = """\
[supervisord]
environment=GLOBAL="g 1",SHARED=global

[program:web]
command=/bin/web --port=80%(process_num)02d --name=%(program_name)s --cost=100%%
  '$HOME' %(ENV_WEB_PORT)s
process_name=%(program_name)s_%(process_num)s
numprocs=3
numprocs_start=1
environment=SHARED="own,comma",PORT=%(ENV_WEB_PORT)s
directory=%(here)s
umask=002

[program:job]
command=/bin/job %(group_name)s ; a comment
[group:batch]
programs=job
"""


def supervisord_processes(path: Path, environ: dict[str, str]) -> dict[str, Any]:
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        opts = options.ServerOptions()
        opts.configfile = str(path)
        opts.process_config(do_usage=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {
        proc.name: proc for group in opts.process_group_configs for proc in group.process_configs
    }


def pinit_processes(path: Path, environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    """name -> resolved command, environment, cwd, umask of each process pinit would run."""
    data = tomllib.loads(supervisord.translate(str(path), environ).render())
    out = {}
    for name, prog in data["programs"].items():
        env = dict(prog.get("environment", {}))
        resolved: dict[str, str] = {}

        def look(n: str, resolved: dict[str, str] = resolved) -> str | None:
            return resolved.get(n, environ.get(n))

        for k, v in env.items():
            resolved[k] = expand(v, look)
        entry = {
            "command": expand(prog["command"], look),
            "environment": resolved,
            "cwd": expand(prog["cwd"], look) if "cwd" in prog else None,
            "umask": int(prog["umask"], 8) if "umask" in prog else None,
        }
        for n in range(1, prog.get("numprocs", 1) + 1):
            out[(name, n, prog.get("numprocs", 1))] = entry
    return out


@pytest.mark.parametrize("source", ["shop", "edges"])
def test_same_processes_as_supervisord(tmp_path: Path, source: str) -> None:
    path = SHOP
    environ = {**ENV, "APP_DIR": str(tmp_path)}  # supervisord wants the log directory to exist
    if source == "edges":
        path = tmp_path / "supervisord.conf"
        path.write_text(EDGES)
        environ = {"WEB_PORT": "81", "HOME": "/root"}
    theirs = supervisord_processes(path, environ)
    ours = pinit_processes(path, environ)
    assert len(ours) == len(theirs)
    singles = {name: entry for (name, _, count), entry in ours.items() if count == 1}
    for name, proc in theirs.items():
        # alike processes became one program with numprocs; the rest keep supervisord's names
        entry = singles.get(name) or next(
            e for (n, _, count), e in ours.items() if count > 1 and name.startswith(n)
        )
        assert entry["command"] == proc.command, name
        assert entry["environment"] == proc.environment, name
        assert entry["cwd"] == proc.directory, name
        assert entry["umask"] == proc.umask, name
