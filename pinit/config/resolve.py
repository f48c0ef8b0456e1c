"""The one part of config that looks at the host: users, groups, executables, directories.

``config.load`` stays host-independent so a config can be checked on a build machine; this module
answers "will it actually run *here*": it is what ``pinit check`` adds on the target, and what
the runtime uses to turn a Program into Popen's ``user``/``group``/``extra_groups``/``env``.
"""

from __future__ import annotations

import grp
import os
import os.path
import pwd
from collections.abc import Mapping

from pinit.config.pathsearch import search_path
from pinit.config.read import ReadError, read_config
from pinit.config.schema import Config, ConfigError, Program
from pinit.records import dataclass

__all__ = ["Identity", "check_host", "environment", "identity", "load_checked"]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a program runs as, fully resolved: the arguments for setgid/setgroups/setuid."""

    uid: int
    gid: int
    groups: tuple[int, ...]  # supplementary groups, as initgroups(3) would set them
    user: str
    home: str
    shell: str


def _numeric(spec: str) -> bool:
    """An id written in ASCII digits that fits an id_t ("²".isdigit() is True, and "٣" would
    be read as 3 by int(): issue 11.4). The loader refuses the rest; a Program built in code
    gets the same answer here, never an exception."""
    return spec.isascii() and spec.isdigit() and len(spec) <= 10 and int(spec) <= 2**32 - 2


def _user_entry(spec: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(spec)
    except (KeyError, ValueError):  # ValueError: a NUL in the name
        pass
    if _numeric(spec):
        try:
            return pwd.getpwuid(int(spec))
        except (KeyError, OverflowError):
            return None
    return None


def _group_id(spec: str) -> int | None:
    """A gid from a name or a number; a bare number needs no /etc/group entry (the kernel
    does not care, and images often run with a gid that only the orchestrator knows)."""
    try:
        return grp.getgrnam(spec).gr_gid
    except (KeyError, ValueError):
        pass
    return int(spec) if _numeric(spec) else None


def _resolve(prog: Program) -> tuple[Identity | None, list[tuple[str, str]]]:
    """The identity, or the problems as (key, message); key is "user" or "group"."""
    if prog.user is None and prog.group is None:
        return None, []
    problems: list[tuple[str, str]] = []
    gid: int | None = None
    if prog.group is not None:
        gid = _group_id(prog.group)
        if gid is None:
            problems.append(("group", f"no such group {prog.group!r}"))
    if prog.user is None:
        # Only the group changes: keep pinit's own uid and supplementary groups, as
        # `sg`/`newgrp` do; only a user switch implies a login's initgroups.
        uid = os.getuid()
        try:
            own = pwd.getpwuid(uid)
            name, home, shell = own.pw_name, own.pw_dir, own.pw_shell
        except KeyError:
            name, home, shell = str(uid), "/", "/bin/sh"
        if gid is None:
            return None, problems
        return Identity(uid, gid, tuple(os.getgroups()), name, home, shell), problems
    entry = _user_entry(prog.user)
    if entry is None:
        if not _numeric(prog.user):
            problems.append(("user", f"no such user {prog.user!r}"))
            return None, problems
        # A bare uid without a passwd entry (`docker run --user 1000`): Docker then picks gid 0,
        # i.e. the root group, silently. We refuse to guess and ask for the group.
        if prog.group is None:
            problems.append(("user", f"uid {prog.user} has no passwd entry: set group too"))
        if problems or gid is None:
            return None, problems
        return Identity(int(prog.user), gid, (gid,), prog.user, "/", "/bin/sh"), problems
    if gid is None:
        if problems:
            return None, problems
        gid = entry.pw_gid
    groups = tuple(os.getgrouplist(entry.pw_name, gid))
    return Identity(entry.pw_uid, gid, groups, entry.pw_name, entry.pw_dir, entry.pw_shell), []


def identity(prog: Program) -> Identity | None:
    """The identity ``prog`` runs as; None means "as pinit itself".

    Raises LookupError when the user or group does not exist; ``check_host`` reports that
    before the runtime ever gets here.
    """
    ident, problems = _resolve(prog)
    if problems:
        raise LookupError("; ".join(message for _, message in problems))
    return ident


def environment(
    prog: Program, base: Mapping[str, str], ident: Identity | None, process_num: int
) -> dict[str, str]:
    """The complete environment of one process of ``prog``.

    With a user set, HOME/USER/LOGNAME/SHELL come from its passwd entry as login(1) sets them;
    otherwise a service switched to www-data inherits HOME=/root and writes its caches there
    (supervisord's documented surprise: it does not change HOME on user=). The program's own
    environment still wins, then the two PINIT_* variables, which always describe this process.
    """
    env = dict(base)
    if ident is not None and prog.user is not None:
        env.update(HOME=ident.home, USER=ident.user, LOGNAME=ident.user, SHELL=ident.shell)
    env.update(prog.environment)
    env["PINIT_PROGRAM"] = prog.name
    env["PINIT_PROCESS_NUM"] = str(process_num)
    return env


class _Lines:
    """Key-path -> line through the text of each program's file, as the loader read it (a
    second read could meet a different file, or a FIFO put in its place: issue 11.9)."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.texts = texts
        self.lines: dict[str, dict[str, int]] = {}

    def error(self, file: str, key_path: str, message: str) -> ConfigError:
        from pinit.config.locate import key_lines, locate_in  # errors only: `re` stays off

        if file not in self.lines:
            self.lines[file] = key_lines(self._text(file))
        return ConfigError(key_path, message, locate_in(self.lines[file], key_path), file)

    def _text(self, file: str) -> str:
        if file in self.texts or not file:
            return self.texts.get(file, "")
        try:
            return read_config(file)
        except ReadError:
            return ""


def _executable_problem(argv0: str, cwd: str | None, path_var: str) -> str | None:
    if "/" in argv0:
        # execve resolves a relative path with a slash against the child's cwd (Popen's cwd=).
        full = os.path.normpath(os.path.join(cwd or os.getcwd(), argv0))
        if not os.path.exists(full):
            return f"no such file {full!r}"
        if os.path.isdir(full) or not os.access(full, os.X_OK):
            return f"{full!r} is not executable"
        return None
    # spawn searches the PATH of the program's environment, not pinit's.
    if search_path(argv0, path_var, cwd) is None:
        return f"{argv0!r} not found on PATH ({path_var})"
    return None


def check_host(
    config: Config,
    environ: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
) -> list[ConfigError]:
    """Everything that can only be known on this host, each problem located like load's.

    ``environ`` is pinit's own environment (default ``os.environ``): the PATH a program sees is
    built from it, so a command found from the checking shell may still be missing at run time.
    Executability is checked with pinit's own uid (``os.access``), not the target user's.
    ``texts`` maps each file to its text as loaded, for line numbers (else the file is read).
    """
    base = os.environ if environ is None else environ
    lines = _Lines(texts or {})
    errors: list[ConfigError] = []
    if config.log_dir and not os.path.isdir(config.log_dir):
        parent = os.path.dirname(config.log_dir)
        if os.path.exists(config.log_dir):
            errors.append(lines.error(config.path, "pinit.log_dir", "not a directory"))
        elif not os.path.isdir(parent):
            msg = f"cannot be created: no such directory {parent!r}"
            errors.append(lines.error(config.path, "pinit.log_dir", msg))
    if config.control_socket:
        parent = os.path.dirname(config.control_socket)
        if not os.path.isdir(parent):
            msg = f"no such directory {parent!r}"
            errors.append(lines.error(config.path, "pinit.control_socket", msg))
    if config.http.startswith("unix:"):  # issue 8: the HTTP endpoint's socket directory
        parent = os.path.dirname(config.http[5:])
        if not os.path.isdir(parent):
            errors.append(lines.error(config.path, "pinit.http", f"no such directory {parent!r}"))
    for prog in config.programs:
        file = prog.source or config.path
        prefix = f"programs.{prog.name}"
        ident, problems = _resolve(prog)
        errors.extend(lines.error(file, f"{prefix}.{key}", msg) for key, msg in problems)
        if prog.cwd is not None and not os.path.isdir(prog.cwd):
            what = "not a directory" if os.path.exists(prog.cwd) else "no such directory"
            errors.append(lines.error(file, f"{prefix}.cwd", f"{what} {prog.cwd!r}"))
        if isinstance(prog.cpu_affinity, tuple):  # issue 9: only CPUs pinit may use itself
            barred = sorted(set(prog.cpu_affinity) - os.sched_getaffinity(0))
            if barred:
                allowed = ",".join(map(str, sorted(os.sched_getaffinity(0))))
                msg = f"CPU {','.join(map(str, barred))} not allowed here (pinit may use {allowed})"
                errors.append(lines.error(file, f"{prefix}.cpu_affinity", msg))
        env = environment(prog, base, ident, 1)
        path_var = env.get("PATH", os.defpath)
        argvs = [("command", prog.command), ("ready.command", prog.ready.command)]
        for key, argv in argvs:
            problem = _executable_problem(argv[0], prog.cwd, path_var) if argv else None
            if problem is not None:
                errors.append(lines.error(file, f"{prefix}.{key}[0]", problem))
        for key, spec in (("stdout", prog.stdout), ("stderr", prog.stderr)):
            if spec is None or not spec.file:
                continue
            parent = os.path.dirname(spec.file)
            if parent != config.log_dir and not os.path.isdir(parent):
                msg = f"no such directory {parent!r}"
                errors.append(lines.error(file, f"{prefix}.{key}", msg))
    return errors


def load_checked(
    path: str, environ: Mapping[str, str], require_programs: bool = True
) -> tuple[Config | None, list[ConfigError]]:
    """The one gate every consumer uses (start, HUP reload, `pinit check`): a config is
    accepted only when it both loads and fits this host, so "check passes" means "run and
    reload will not refuse it".

    Every error comes in one run (issue 7.3): the host checks also run on the programs that
    parsed when others did not, and all errors are listed in file and line order.
    """
    from pinit.config.load import load_partial

    loaded = load_partial(path, environ, require_programs)
    errors = list(loaded.errors)
    if loaded.config is not None:
        texts = {name: src.text for name, src in loaded.sources.items()}
        errors += check_host(loaded.config, environ, texts)
    if loaded.config is not None and not errors:
        return loaded.config, []
    order = {name: i for i, name in enumerate(loaded.sources)}
    errors.sort(key=lambda e: (order.get(e.file, len(order)), e.line or 0))
    return None, errors
