"""supervisord.conf -> pinit TOML (issue 10, `pinit import`): every key becomes a pinit key or a
comment saying why not. Semantics follow supervisor/options.py (``_processes_from_section``,
``process_groups_from_parser``); the reading is in ``supini.py``, the keys in ``supkeys.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from pinit.importer import supini, supkeys
from pinit.importer.emit import Doc, Prog

__all__ = ["translate"]

NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]")

SECTION_WHY = {
    "unix_http_server": "supervisorctl's XML-RPC socket. pinit's control socket is "
    "`[pinit] control_socket` (unix, mode 0600; default /run/pinit/NAME.sock), used by "
    "`pinit ctl`",
    "inet_http_server": "supervisord's XML-RPC and web UI over TCP. pinit has no web UI: "
    "`pinit ctl` (status, start, stop, restart, scale, signal, reload, logs, events, health) "
    "over the control socket; metrics and health over HTTP with `[pinit] http`",
    "supervisorctl": "settings of supervisorctl: use `pinit ctl` (it finds the socket from "
    "the config; `--socket PATH` otherwise)",
    "rpcinterface": "an XML-RPC interface: pinit's control protocol is its own (`pinit ctl "
    "--json` for scripts)",
    "ctlplugin": "a supervisorctl plugin: no equivalent; `pinit ctl`",
    "eventlistener": "an event listener speaks supervisord's events protocol on stdin/stdout; "
    "pinit has no listener protocol; its event stream is `pinit ctl events` (JSON lines "
    "with --json). "
    "If the listener does other work, run it as a plain program",
    "fcgi-program": "a FastCGI program on a socket supervisord opens and passes on: pinit "
    "passes no sockets; run the FastCGI server binding its own socket as a program",
}

SUPERVISORD_WHY = {
    "environment": "merged into every program's `environment` (a program's own wins)",
    "logfile": "supervisord's own log: pinit logs to its stderr (the container's log)",
    "logfile_maxbytes": "supervisord's own log: pinit logs to its stderr",
    "logfile_backups": "supervisord's own log: pinit logs to its stderr",
    "loglevel": "pinit logs its decisions; `pinit -v` adds each signal and reap",
    "pidfile": "pinit writes no pidfile: as PID 1 or a systemd service its pid is known",
    "nodaemon": "pinit always runs in the foreground",
    "silent": "pinit always runs in the foreground and logs to stderr",
    "user": "run pinit itself as this user (the image's USER, a unit's User=); per program: `user`",
    "umask": "pinit keeps the umask it was started with; per program: `umask`",
    "directory": "pinit does not change directory; per program: `cwd`",
    "minfds": "supervisord raised its own open-files limit for its children; per program: "
    "`rlimits.nofile`",
    "minprocs": "supervisord raised its own process limit; per program: `rlimits.nproc`",
    "childlogdir": "AUTO child logs went there; pinit sends such output to its own "
    "stdout/stderr (the container's log)",
    "identifier": "names supervisord for XML-RPC; `[pinit] name` names pinit's title and "
    "control socket",
    "nocleanup": "pinit leaves no AUTO log files to clean",
    "strip_ansi": "pinit writes program output as it is",
}


def _clean_name(name: str, doc: Doc, where: str, taken: set[str]) -> str:
    clean = NAME_BAD.sub("_", name) or "program"
    if clean != name:
        doc.decide(where, f"name {name!r} -> {clean!r} (pinit names: letters, digits, _ . -)")
    base, n = clean, 2
    while clean in taken:
        clean = f"{base}_{n}"
        n += 1
    if clean != base:
        doc.decide(where, f"name {base!r} is taken by another program -> {clean!r}")
    taken.add(clean)
    return clean


def translate(path: str, environ: Mapping[str, str]) -> Doc:
    """ValueError / OSError / configparser.Error when supervisord itself would refuse to
    read the file (the CLI reports them with the file name)."""
    src = supini.read(path, environ)
    doc = Doc(os.path.abspath(path), "supervisord config")
    for warning in src.warnings:
        doc.decide("[include]", warning)
        doc.header.append(warning)
    if len(src.files) > 1:
        doc.header.append("Read: " + ", ".join(src.files))
        doc.decide("[include]", "followed; read " + ", ".join(src.files[1:]))
    global_env = _supervisord_section(src, doc, environ)
    groups = _groups(src, doc)
    taken: set[str] = set()
    made: list[tuple[Prog, int, bool]] = []  # program, priority, autostart
    for section in src.parser.sections():
        kind, _, name = section.partition(":")
        if kind == "program" and name:
            group = groups.get(name)
            for prog, priority, autostart in supkeys.program(
                src, section, group[0] if group else name, global_env, environ, doc
            ):
                prog.name = _clean_name(prog.name, doc, f"[{section}]", taken)
                if group:
                    prog.note(
                        f"supervisord [group:{group[0]}] ({', '.join(group[1])}): pinit has "
                        "no groups; `pinit ctl` addresses each program (or `all`)"
                    )
                made.append((prog, priority, autostart))
        elif kind in ("supervisord", "group", "include"):
            continue
        else:
            why = SECTION_WHY.get(kind, "not a supervisord section (supervisord ignores it)")
            doc.header.append(f"[{section}] not translated: {why}.")
            doc.decide(f"[{section}]", f"comment: {why}")
    supkeys.priorities(made, doc)
    doc.programs = [prog for prog, _, _ in made]
    return doc


def _supervisord_section(src: supini.Source, doc: Doc, environ: Mapping[str, str]) -> str:
    """The global keys as comments; returns ``[supervisord] environment`` (raw), which
    every program gets."""
    section = "supervisord"
    if not src.parser.has_section(section):
        doc.decide(
            "[supervisord]", "missing (supervisord refuses such a file; pinit does not care)"
        )
        return ""
    env = ""
    for key, value in src.parser.items(section):
        why = SUPERVISORD_WHY.get(key, "no pinit meaning (supervisord's own setting)")
        if key == "environment":
            env = value
        else:
            doc.header.append(f"[supervisord] {key} = {value}: {why}.")
        doc.decide(f"[supervisord] {key}", why)
    return env


def _groups(src: supini.Source, doc: Doc) -> dict[str, tuple[str, list[str]]]:
    """program name -> (group name, its programs). supervisord refuses a group naming an
    unknown program; the importer says so and carries on."""
    out: dict[str, tuple[str, list[str]]] = {}
    for section in src.parser.sections():
        if not section.startswith("group:"):
            continue
        group = section.split(":", 1)[1]
        members = [m.strip() for m in (src.get(section, "programs") or "").split(",") if m.strip()]
        for member in members:
            if not src.parser.has_section(f"program:{member}"):
                doc.decide(
                    f"[{section}]", f"names unknown program {member!r} (supervisord refuses it)"
                )
                continue
            out[member] = (group, members)
        doc.decide(
            f"[{section}]",
            "pinit has no groups: each member stays a program of its own, with a comment",
        )
        for key in src.parser.options(section):
            if key == "priority":
                doc.decide(
                    f"[{section}] priority",
                    "the members' own `priority` orders them (`after` layers); the group's is"
                    " not used",
                )
            elif key != "programs":
                doc.decide(f"[{section}] {key}", "no pinit meaning")
    return out
