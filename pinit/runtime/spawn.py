"""Start one program: fork, set up the child's identity and signals, exec. Never wait.

Why our own fork instead of `subprocess.Popen`: Popen cannot set rlimits or reset the signal
mask without `preexec_fn`, and a Popen object that is dropped before `wait()` lands in
`subprocess._active`, where the next Popen polls it with waitpid(pid) and steals the exit
status from our reaper (CPython then reports returncode 0, so a crash looks like success).
pinit is single-threaded, so fork is safe here, and the child runs only os-level calls
before exec.

The exec error travels back through a close-on-exec pipe: EOF means exec succeeded; otherwise
the child writes "stage:errno" and exits 127 (not found) or 126 (found, not runnable), the
shell's convention that tini follows.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
from collections.abc import Mapping, Sequence

from pinit.config.pathsearch import search_path
from pinit.runtime import posixspawn, signals

RLIMITS: Mapping[str, int] = {
    name[len("RLIMIT_") :].lower(): getattr(resource, name)
    for name in dir(resource)
    if name.startswith("RLIMIT_")
}


class SpawnSpec:
    """Everything the child needs between fork and exec. Read-only by convention.

    A plain slotted class, not a dataclass: dataclasses (with inspect and ast) cost
    `pinit -- true` ~8 ms of start, a seventh of it.
    """

    __slots__ = (
        "argv",
        "argv0",
        "close_fds",
        "cpus",
        "cwd",
        "env",
        "gid",
        "groups",
        "new_session",
        "nice",
        "oom_score_adj",
        "pass_fds",
        "pid_env",
        "rlimits",
        "stderr",
        "stdin",
        "stdout",
        "tty_foreground",
        "uid",
        "umask",
    )

    def __init__(
        self,
        argv: tuple[str, ...],
        *,
        env: Mapping[str, str] | None = None,  # None: inherit pinit's environment
        cwd: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        groups: tuple[int, ...] | None = None,
        umask: int | None = None,
        rlimits: tuple[tuple[str, int, int], ...] = (),  # (name, soft, hard); -1 = unlimited
        new_session: bool = False,  # setsid(): own session and group, no controlling tty
        tty_foreground: bool = False,  # own group in pinit's session + terminal foreground
        stdin: int | None = None,  # fds to dup2 onto 0/1/2; None inherits pinit's
        stdout: int | None = None,
        stderr: int | None = None,
        pass_fds: tuple[int, ...] = (),
        close_fds: bool = True,  # False: inherited fds pass through (tini-style, socket activation)
        argv0: str | None = None,  # issue 9: the process title; argv[0] still names the file
        pid_env: str = "",  # issue 9: a variable set to the child's own pid (WATCHDOG_PID)
        cpus: tuple[int, ...] | None = None,  # issue 9: placement and priority
        nice: int | None = None,
        oom_score_adj: int | None = None,
    ) -> None:
        self.argv = argv
        self.argv0 = argv0
        self.env = env
        self.cwd = cwd
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.umask = umask
        self.rlimits = rlimits
        self.new_session = new_session
        self.tty_foreground = tty_foreground
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.pass_fds = pass_fds
        self.close_fds = close_fds
        self.pid_env = pid_env
        self.cpus = cpus
        self.nice = nice
        self.oom_score_adj = oom_score_adj


class SpawnError(Exception):
    """The program could not be started. `pid` is the child that already exited with `code`."""

    def __init__(self, pid: int, code: int, message: str) -> None:
        super().__init__(message)
        self.pid = pid
        self.code = code
        self.message = message


_STAGES = {
    "exec": "cannot run",
    "chdir": "cannot change directory to",
    "ids": "cannot switch user/group for",
    "rlimit": "cannot set rlimit for",
    "fds": "cannot set up file descriptors for",
    "cpu_affinity": "cannot set cpu_affinity for",  # issue 9: the message names the key
    "nice": "cannot set nice for",
    "oom_score_adj": "cannot set oom_score_adj for",
}


def spawn(spec: SpawnSpec) -> int:
    """Start `spec`; return the pid, or raise SpawnError (with the child's pid, or 0).

    The PATH search happens here, in the parent: os.execvpe in a forked child would convert
    the whole environment once per PATH entry it tries, and every object a copy-on-write
    child touches costs a page copy.
    """
    name = spec.argv[0]
    path = name if "/" in name else (_which(name, spec.env, spec.cwd) or name)
    argv = spec.argv if spec.argv0 is None else (spec.argv0, *spec.argv[1:])
    if _simple(spec):
        return _posix_spawn(spec, path, argv)
    return _fork_exec(spec, path, argv)


def _simple(spec: SpawnSpec) -> bool:
    """Nothing posix_spawn(3) cannot do: no identity, umask, rlimits, cwd, tty hand-over or
    placement (issue 9: set in the child before exec, never on a pid already running code)."""
    return (
        spec.uid is None
        and spec.gid is None
        and spec.groups is None
        and spec.umask is None
        and not spec.rlimits
        and spec.cwd is None
        and not spec.tty_foreground
        and not spec.pass_fds
        and not spec.pid_env  # the pid is known only in the child
        and spec.cpus is None
        and spec.nice is None
        and spec.oom_score_adj is None
    )


def _posix_spawn(spec: SpawnSpec, path: str, argv: Sequence[str]) -> int:
    """glibc's posix_spawn shares the parent's memory until exec (CLONE_VFORK): 0.17 ms against
    ~1.3 ms for fork + child setup in a 17 MB Python, the difference between 500 programs
    starting in 0.1 s or 0.65 s. It resets every signal in the child itself and
    reports exec errors as the call's own error, so no error pipe is needed.

    It cannot close inherited fds: with `close_fds`, the caller made sure every fd above 2 is
    close-on-exec (pid1.cloexec_inherited_fds; Python's own fds are, PEP 446).
    """
    dup2 = [
        (fd, target)
        for target, fd in ((0, spec.stdin), (1, spec.stdout), (2, spec.stderr))
        if fd is not None and fd != target
    ]
    try:
        # Through libc, not os.posix_spawn: see runtime/posixspawn.py (issue 7.1).
        return posixspawn.spawn(path, argv, spec.env, dup2, new_session=spec.new_session)
    except OSError as exc:
        code = 127 if exc.errno == errno.ENOENT else 126
        reason = exc.strerror or str(exc)
        raise SpawnError(0, code, f"cannot run {spec.argv[0]!r}: {reason}") from None


def _fork_exec(spec: SpawnSpec, path: str, argv: Sequence[str]) -> int:
    """fork, then the child sets up what posix_spawn cannot, then exec; errors come back
    through the close-on-exec pipe."""
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        try:
            pid = os.fork()
        except BaseException:
            os.close(err_r)  # EAGAIN (RLIMIT_NPROC) in a restart loop must not leak fds
            raise
        if pid == 0:  # pragma: no cover - the child never returns here
            _child(spec, path, argv, err_r, err_w)
        if not spec.new_session:
            try:
                # Both sides set the group, so a signal forwarded right after fork finds it.
                os.setpgid(pid, pid)
            except OSError:
                pass  # the child already exec'd and set it, or is already gone
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.close(err_w)
    try:
        report = b""
        while chunk := os.read(err_r, 256):
            report += chunk
    finally:
        os.close(err_r)
    if not report:
        return pid
    stage, _, num = report.decode(errors="replace").partition(":")
    code_num = int(num) if num.isdigit() else 0
    exit_code = 127 if code_num == errno.ENOENT and stage == "exec" else 126
    what = spec.cwd if stage == "chdir" else spec.argv[0]
    reason = os.strerror(code_num) if code_num else "unknown error"
    raise SpawnError(pid, exit_code, f"{_STAGES.get(stage, stage)} {what!r}: {reason}")


def _child(  # pragma: no cover
    spec: SpawnSpec, path: str, argv: Sequence[str], err_r: int, err_w: int
) -> None:
    stage = "fds"
    try:
        os.close(err_r)
        if spec.new_session:
            os.setsid()
        else:
            os.setpgid(0, 0)
            if spec.tty_foreground:
                try:
                    # SIGTTOU is still ignored (inherited from pinit), so this cannot stop us.
                    os.tcsetpgrp(0, os.getpid())
                except OSError:
                    pass  # stdin is not our controlling terminal after all
        signals.reset_in_child()
        _dup_stdio(spec)
        if spec.close_fds:
            _close_fds(keep={err_w, *spec.pass_fds})
        for fd in spec.pass_fds:
            os.set_inheritable(fd, True)
        stage = "rlimit"
        for name, soft, hard in spec.rlimits:
            resource.setrlimit(RLIMITS[name], (_lim(soft), _lim(hard)))
        if spec.umask is not None:
            os.umask(spec.umask)
        # issue 9, before setuid: lowering nice or oom_score_adj needs root's capabilities
        if spec.cpus is not None:
            stage = "cpu_affinity"
            os.sched_setaffinity(0, spec.cpus)
        if spec.nice is not None:
            stage = "nice"
            os.setpriority(os.PRIO_PROCESS, 0, spec.nice)
        if spec.oom_score_adj is not None:
            stage = "oom_score_adj"
            _write_oom(spec.oom_score_adj)
        stage = "ids"
        if spec.groups is not None:
            os.setgroups(list(spec.groups))
        if spec.gid is not None:
            os.setgid(spec.gid)
        if spec.uid is not None:
            os.setuid(spec.uid)
        stage = "chdir"
        if spec.cwd is not None:
            # After setuid, so a directory the user may not enter fails here, as in a login.
            os.chdir(spec.cwd)
        stage = "exec"
        env = spec.env
        if spec.pid_env:
            env = {**(os.environ if env is None else env), spec.pid_env: str(os.getpid())}
        _exec(path, argv, env)
    except OSError as exc:
        _report(err_w, stage, exc.errno or 0)
    except BaseException:
        _report(err_w, stage, 0)
    os._exit(127 if stage == "exec" else 126)


def _write_oom(value: int) -> None:  # pragma: no cover - runs in the child
    fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, b"%d" % value)
    finally:
        os.close(fd)


def _exec(
    path: str, argv: Sequence[str], env: Mapping[str, str] | None
) -> None:  # pragma: no cover
    os.execve(path, list(argv), os.environ if env is None else env)


def _which(name: str, env: Mapping[str, str] | None, cwd: str | None) -> str | None:
    """`name` on the child's PATH, from its cwd (config.pathsearch, as `pinit check` looks);
    None lets execve report ENOENT for the name itself."""
    path_var = (os.environ if env is None else env).get("PATH", os.defpath)
    return search_path(name, path_var, cwd)


def _dup_stdio(spec: SpawnSpec) -> None:  # pragma: no cover
    for target, fd in ((0, spec.stdin), (1, spec.stdout), (2, spec.stderr)):
        if fd is not None and fd != target:
            os.dup2(fd, target)  # dup2 clears CLOEXEC on the target


def _close_fds(keep: set[int]) -> None:  # pragma: no cover
    """Leave the program only 0, 1, 2 and what it was given: pinit's sockets are not its."""
    low = 3
    for fd in sorted(f for f in keep if f >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def _lim(value: int) -> int:
    return resource.RLIM_INFINITY if value < 0 else value


def _report(fd: int, stage: str, num: int) -> None:  # pragma: no cover
    try:
        os.write(fd, f"{stage}:{num}".encode())
    except OSError:
        pass
