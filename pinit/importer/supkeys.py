"""One `[program:x]` section -> pinit programs, key by key (supervisor/options.py,
``_processes_from_section``, gives the defaults and the expansion of each key).

``numprocs``: supervisord runs one process per ``process_num`` with every key expanded for it.
When the processes differ only in their names, the result is one program with ``numprocs``
(pinit names them NAME-1..NAME-N and gives each ``PINIT_PROCESS_NUM``); when a key differs
(``--port=80%(process_num)02d``, a log file per process), each process is a program of its own
under the name supervisord gave it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pinit.config.loadprog import MAX_NUMPROCS
from pinit.importer import supini
from pinit.importer.emit import Doc, Prog, Value

__all__ = ["priorities", "program"]

DEV_OUT = {"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"}
DEV_ERR = {"/dev/stderr", "/dev/fd/2", "/proc/self/fd/2"}
NO_ROTATION = 1 << 40  # supervisord's maxbytes = 0 (never rotate): pinit always rotates

# Keys that need no pinit key: used for expansion or ordering, or said in a comment.
NOTED = {
    "process_name": "names the processes (see the program name)",
    "numprocs_start": "first process_num (used in the expansion)",
    "stopasgroup": "pinit always signals the whole process group (stop and kill)",
    "killasgroup": "pinit always signals the whole process group (stop and kill)",
    "serverurl": "pinit exports PINIT_CONTROL_SOCKET to every program; `pinit ctl` uses it",
    "stdout_capture_maxbytes": "supervisord's event capture mode: pinit has no event "
    "listeners (its event stream: `pinit ctl events`)",
    "stderr_capture_maxbytes": "supervisord's event capture mode: pinit has no event listeners",
    "stdout_events_enabled": "events on output: pinit has no event listeners",
    "stderr_events_enabled": "events on output: pinit has no event listeners",
    "stdout_syslog": "pinit writes no syslog: its stdout (the container's log) or a file",
    "stderr_syslog": "pinit writes no syslog: its stderr (the container's log) or a file",
}


class _Process:
    """The keys of one process, and what was decided about each source key."""

    def __init__(self, src: supini.Source, section: str, exp: supini.Expander) -> None:
        self.src = src
        self.section = section
        self.exp = exp
        self.keys: dict[str, tuple[Value, str]] = {}
        self.notes: list[tuple[str, str]] = []  # (source key, why): comments and --explain

    def raw(self, key: str) -> str | None:
        return self.src.get(self.section, key)

    def static(self, text: str, key: str) -> str:
        """Expanded now: pinit does not expand ``${X}`` in this key, so ``%(ENV_X)s`` takes
        the importer's environment (said in --explain)."""
        if "%(ENV_" in text:
            self.notes.append((key, "%(ENV_...)s expanded now, from the importer's environment"))
        return self.exp.static(text, key)

    def put(self, key: str, value: Value, why: str, source: str) -> None:
        self.keys[key] = (value, why)
        self.notes.append((source, f"-> {key}" + (f" ({why})" if why else "")))


def program(  # noqa: PLR0917 - one section and its context
    src: supini.Source,
    section: str,
    group: str,
    global_env: str,
    environ: Mapping[str, str],
    doc: Doc,
) -> list[tuple[Prog, int, bool]]:
    where = f"[{section}]"
    name = section.split(":", 1)[1].strip()
    try:
        numprocs = int(src.get(section, "numprocs") or "1")
        start = int(src.get(section, "numprocs_start") or "0")
        priority = int(src.get(section, "priority") or "999")
        autostart = supini.boolean(src.get(section, "autostart") or "true")
    except ValueError as exc:
        doc.decide(where, f"skipped: {exc} (supervisord refuses it)")
        doc.header.append(f"{where} skipped: {exc}.")
        return []
    if not 0 <= numprocs <= MAX_NUMPROCS:  # each process is expanded: bound it first (i10_05)
        doc.decide(where, f"skipped: numprocs {numprocs}: pinit runs at most {MAX_NUMPROCS}")
        doc.header.append(f"{where} skipped: numprocs = {numprocs}, at most {MAX_NUMPROCS}.")
        return []
    process_name = src.get(section, "process_name") or "%(program_name)s"
    if numprocs > 1 and "%(process_num)" not in process_name:
        doc.decide(where, "skipped: numprocs > 1 needs %(process_num) in process_name")
        doc.header.append(f"{where} skipped: numprocs > 1 without %(process_num) in process_name.")
        return []
    base: dict[str, object] = {
        "here": os.path.dirname(os.path.abspath(src.section_file.get(section, "."))),
        "program_name": name,
        "group_name": group,
        "host_node_name": os.uname().nodename,
        "numprocs": numprocs,
    }
    procs: list[tuple[str, _Process]] = []
    try:
        for num in range(start, start + numprocs):
            exp = supini.Expander({**base, "process_num": num}, environ)
            proc = _Process(src, section, exp)
            _translate(proc, global_env)
            procs.append((exp.static(process_name, "process_name"), proc))
    except ValueError as exc:
        doc.decide(where, f"skipped: {exc} (supervisord refuses it)")
        doc.header.append(f"{where} skipped: {exc}.")
        return []
    same = all(p.keys == procs[0][1].keys for _, p in procs)
    if numprocs > 1 and same:
        prog = Prog(name, where)
        prog.set("command", procs[0][1].keys["command"][0])
        prog.set("numprocs", numprocs, f"supervisord named them {procs[0][0]}..{procs[-1][0]}")
        for key, (value, why) in procs[0][1].keys.items():
            prog.set(key, value, why)
        doc.decide(
            where, f"{numprocs} processes alike but for their names -> numprocs = {numprocs}"
        )
        out = [prog]
    else:
        out = []
        for pname, proc in procs:
            prog = Prog(pname, where)
            for key, (value, why) in proc.keys.items():
                prog.set(key, value, why)
            out.append(prog)
        if numprocs > 1:
            doc.decide(where, f"processes differ (a key uses process_num): {numprocs} programs")
    for source, text in procs[0][1].notes:
        doc.decide(f"{where} {source}", text)
    for prog in out:
        if src.section_file.get(section):
            prog.note(f"{where} of {src.section_file[section]}")
        for source, why in procs[0][1].notes:
            if source in NOTED:
                prog.note(f"{source}: {why}")
    return [(prog, priority, autostart) for prog in out]


def _translate(proc: _Process, global_env: str) -> None:
    exp = proc.exp
    command = proc.raw("command")
    if command is None:
        raise ValueError("no command")
    # Environment first: its entries are ENV_X for the keys after it (as in supervisord).
    env: dict[str, str] = {}
    if global_env:
        env, _ = exp.runtime_pairs(global_env, "[supervisord] environment")
    raw_env = proc.raw("environment")
    if raw_env is not None:
        own, _ = exp.runtime_pairs(raw_env, "environment")
        env.update(own)
        try:  # later keys' ENV_X: the program's own variables, as supervisord extends them
            exp.env.update(supini.key_value_pairs(exp.static(raw_env, "environment")))
        except ValueError:  # a value deferred to pinit's start: later keys see it deferred
            exp.env.update(own)
    cmd, deferred = exp.runtime(command, "command")
    names = ", ".join("${" + d + "}" for d in deferred)
    # pinit expands after splitting: a value with spaces stays one argument (supervisord
    # expanded before its shlex split); said in --explain.
    why = f"{names}: read when pinit starts, as supervisord read %(ENV_...)s" if deferred else ""
    if deferred:
        proc.notes.append(("command", f"{names}: a value with spaces stays one argument"))
    proc.put("command", cmd, why, "command")
    if env:
        proc.put("environment", dict(env), "", "environment")
    if (directory := proc.raw("directory")) is not None:
        proc.put("cwd", exp.runtime(directory, "directory")[0], "", "directory")
    if (user := proc.raw("user")) is not None:
        user = proc.static(user, "user").strip()
        proc.put("user", int(user) if user.isdigit() else user, "", "user")
    if (umask := proc.raw("umask")) is not None:
        int(umask.strip(), 8)  # supervisord's octal_type: ValueError when not octal
        proc.put("umask", umask.strip(), "", "umask")
    if (autostart := proc.raw("autostart")) is not None:
        proc.put("autostart", supini.boolean(autostart), "", "autostart")
    if (restart := proc.raw("autorestart")) is not None:
        low = restart.strip().lower()
        policy = (
            "on-failure" if low == "unexpected" else "always" if supini.boolean(low) else "never"
        )
        proc.put("restart", policy, f"autorestart = {low}", "autorestart")
    if (codes := proc.raw("exitcodes")) is not None:
        values = [int(c) for c in codes.split(",") if c.strip()]
        if any(not 0 <= c <= 255 for c in values):
            raise ValueError(f"not a valid list of exit codes: {codes!r}")
        proc.put("exit_codes", list[Value](values), "", "exitcodes")
    if (secs := proc.raw("startsecs")) is not None:
        proc.put("start_seconds", f"{int(secs)}s", "", "startsecs")
    if (retries := proc.raw("startretries")) is not None:
        proc.put("start_retries", int(retries), "", "startretries")
    if (sig := proc.raw("stopsignal")) is not None:
        proc.put("stop_signal", supini.signal_name(sig), "", "stopsignal")
    if (wait := proc.raw("stopwaitsecs")) is not None:
        proc.put("stop_timeout", f"{int(wait)}s", "", "stopwaitsecs")
    _logs(proc)
    for key in proc.src.parser.options(proc.section):
        if key in NOTED:
            proc.notes.append((key, NOTED[key]))
        elif key == "priority":
            proc.notes.append((key, "-> after (layers by priority; see the comment on `after`)"))
        elif key == "numprocs":
            proc.notes.append((key, "-> numprocs, or one program per process"))
        elif not any(key == s for s, _ in proc.notes):
            proc.notes.append((key, "not a supervisord program key (supervisord ignores it)"))


def _log_file(proc: _Process, stream: str) -> tuple[str, str]:
    """("file", path) | ("own", why) for supervisord's AUTO / NONE / /dev/stdout."""
    raw = proc.raw(f"{stream}_logfile")
    value = "AUTO" if raw is None else proc.static(raw, f"{stream}_logfile").strip()
    low = value.lower()
    if low == "auto":
        return "own", f"supervisord's AUTO (a temp file): pinit's own {stream}, the container's log"
    if low in ("none", "off"):
        return "own", f"supervisord discarded it (NONE): pinit cannot; its own {stream}"
    if low == "syslog":
        return "own", "supervisord's syslog: pinit's own " + stream
    if value in DEV_OUT | DEV_ERR:
        return "own", f"{value}: pinit's own {stream}"
    path = os.path.abspath(os.path.expanduser(value))  # supervisord's existing_dirpath
    if path != value:
        proc.notes.append(
            (f"{stream}_logfile", f"{value!r} -> {path!r}, as supervisord resolved it")
        )
    return "file", path


def _log_table(proc: _Process, stream: str, path: str) -> dict[str, Value]:
    table: dict[str, Value] = {"file": path}
    max_bytes = supini.byte_size(proc.raw(f"{stream}_logfile_maxbytes") or "50MB")
    table["max_bytes"] = max_bytes if max_bytes else NO_ROTATION
    table["backups"] = min(int(proc.raw(f"{stream}_logfile_backups") or "10"), 1000)
    return table


def _logs(proc: _Process) -> None:
    out_kind, out = _log_file(proc, "stdout")
    if out_kind == "file":
        table = _log_table(proc, "stdout", out)
        unset = [k for k in ("maxbytes", "backups") if proc.raw(f"stdout_logfile_{k}") is None]
        why = f"supervisord's default {' and '.join(unset)} (50MB, 10)" if unset else ""
        if table["max_bytes"] == NO_ROTATION:
            why = "maxbytes = 0 (never rotate): pinit always rotates; at 1 TiB"
        proc.put("stdout", table, why, "stdout_logfile")
    elif proc.raw("stdout_logfile") is not None:
        proc.put("stdout", "", out, "stdout_logfile")
    for key in ("stdout_logfile_maxbytes", "stdout_logfile_backups"):
        if proc.raw(key) is not None:
            proc.notes.append((key, "-> stdout" if out_kind == "file" else "no file to rotate"))
    redirect = supini.boolean(proc.raw("redirect_stderr") or "false")
    if redirect:
        proc.put("stderr", "stdout", "redirect_stderr = true", "redirect_stderr")
        for key in ("stderr_logfile", "stderr_logfile_maxbytes", "stderr_logfile_backups"):
            if proc.raw(key) is not None:
                proc.notes.append((key, "ignored: redirect_stderr = true (as supervisord does)"))
        return
    err_kind, err = _log_file(proc, "stderr")
    if err_kind == "file":
        proc.put("stderr", _log_table(proc, "stderr", err), "", "stderr_logfile")
    elif out_kind == "file":
        # pinit's default stderr follows stdout into its file; supervisord kept them apart.
        proc.put("stderr", "", err + " (redirect_stderr = false)", "stderr_logfile")
    elif proc.raw("stderr_logfile") is not None:
        proc.notes.append(("stderr_logfile", "-> stderr stays pinit's own: " + err))
    for key in ("stderr_logfile_maxbytes", "stderr_logfile_backups"):
        if proc.raw(key) is not None:
            proc.notes.append((key, "-> stderr" if err_kind == "file" else "no file to rotate"))
    if proc.raw("redirect_stderr") is not None:
        proc.notes.append(("redirect_stderr", "false: stderr kept apart from stdout"))


def priorities(made: list[tuple[Prog, int, bool]], doc: Doc) -> None:
    """supervisord starts programs by ascending priority, without waiting for any of them
    (it only spaces the spawns); pinit's `after` waits until the earlier layer is ready,
    which is the usual intent. Programs not started at boot take no part: a program
    `after` one that never starts would never start either."""
    layers = sorted({p for _, p, auto in made if auto})
    if len(layers) < 2:
        if made:
            doc.decide("priority", "one priority among autostart programs: no `after`")
        return
    by_layer = {
        layer: [prog.name for prog, p, auto in made if auto and p == layer] for layer in layers
    }
    for prog, p, auto in made:
        if not auto or p == layers[0]:
            continue
        before = by_layer[layers[layers.index(p) - 1]]
        prog.set(
            "after",
            list(before),
            f"priority {p} > {layers[layers.index(p) - 1]}: supervisord did not wait for "
            "readiness, pinit waits until these are ready",
        )
        doc.decide(f"[program] {prog.name} priority {p}", f"-> after = {before}")
