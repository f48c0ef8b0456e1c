"""Procfile -> pinit TOML (issue 10, `pinit import`).

A Procfile line is ``name: command``; foreman, honcho and Heroku run the command with a shell
(``sh -c``), so it becomes ``["/bin/sh", "-c", COMMAND]`` with every ``$`` doubled (pinit's
own ``${VAR}`` expansion must leave ``$PORT`` to the shell). foreman gives each process type a
``PORT``: 5000 for the first, +100 for each next (honcho does the same); pinit sets it in
``environment``. Blank lines and ``#`` comments are skipped; a line that is not ``name:
command`` is reported, as foreman ignores it.
"""

from __future__ import annotations

import os
import re

from pinit.importer.emit import Doc, Prog

__all__ = ["translate"]

LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
BASE_PORT = 5000
PORT_STEP = 100


def translate(path: str) -> Doc:
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        text = handle.read()
    doc = Doc(os.path.abspath(path), "Procfile")
    doc.header += [
        "foreman and honcho stop every process when one exits; pinit restarts a program",
        'that fails (restart = "on-failure"). For foreman\'s behaviour set restart = "never"',
        "and critical = true on a program. A .env file next to the Procfile is not read:",
        "put its variables in `environment`.",
    ]
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        where = f"line {number}"
        if not stripped or stripped.startswith("#"):
            continue
        match = LINE.match(stripped)
        if match is None:
            doc.decide(where, f"not `name: command`, skipped: {stripped!r}")
            doc.header.append(f"line {number} skipped (not `name: command`): {stripped}")
            continue
        name, command = match.group(1), match.group(2).strip()
        if any(p.name == name for p in doc.programs):
            doc.decide(where, f"{name!r} again: the first one counts (as foreman)")
            continue
        port = BASE_PORT + PORT_STEP * len(doc.programs)
        prog = Prog(name, where)
        prog.note(f"{where}: {command}")
        prog.set(
            "command",
            ["/bin/sh", "-c", command.replace("$", "$$")],
            "run by a shell, as foreman does",
        )
        prog.set("environment", {"PORT": str(port)}, "foreman's PORT: 5000, +100 per process type")
        doc.programs.append(prog)
        doc.decide(where, f"{name} -> programs.{name}: sh -c, PORT={port}")
    return doc
