"""Command line: wires the parts together and holds no logic of its own.

    pinit [--name N] [--grace S] [--no-group] [-v] -- CMD [ARGS...]
    pinit [--name N] [-v] --config FILE [-- CMD [ARGS...]]
    pinit check [--config FILE] [--explain] [-- CMD [ARGS...]]
    pinit ctl [--socket PATH | --config FILE] status|start|stop|restart|signal|reload|logs|scale|
              health|events ARGS...
    pinit import FILE [--from supervisord|procfile] [--explain]
    pinit version

argparse (with the re, shutil and gettext it pulls in) costs PID 1 ~10 ms of start, so the
plain spellings of the run options are read by a small fast path; help, errors and anything
unusual go to argparse, which stays the one definition of the interface.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from pinit import __version__
from pinit.titles import manager_title, set_title

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms of start)
if TYPE_CHECKING:
    import argparse

USAGE_EXIT = 2


class RunArgs:
    """Not a NamedTuple: importing typing at run time costs PID 1 ~3 ms of start."""

    __slots__ = ("command", "config", "grace", "name", "no_group", "verbose")

    def __init__(
        self,
        *,
        config: str | None,
        name: str | None,
        grace: float,
        no_group: bool,
        verbose: bool,
        command: list[str],
    ) -> None:
        self.config = config
        self.name = name
        self.grace = grace
        self.no_group = no_group
        self.verbose = verbose
        self.command = command


DEFAULT_GRACE = 5.0
_FLAGS = {"--no-group": "no_group", "-v": "verbose", "--verbose": "verbose"}
_VALUED = {"--config": "config", "--name": "name", "--grace": "grace"}


def fast_parse(args: Sequence[str]) -> RunArgs | None:
    """The run options in their plain spellings, or None to let argparse decide."""
    values: dict[str, object] = {"grace": DEFAULT_GRACE}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return _run_args(values, list(args[i + 1 :]))
        if arg in _FLAGS:
            values[_FLAGS[arg]] = True
        elif arg in _VALUED and i + 1 < len(args):
            i += 1
            values[_VALUED[arg]] = args[i]
        elif arg.startswith("-"):
            return None  # --help, --version, --opt=value, typos: argparse's job
        else:
            return _run_args(values, list(args[i:]))
        i += 1
    return _run_args(values, [])


def _run_args(values: dict[str, object], command: list[str]) -> RunArgs | None:
    grace = values["grace"]
    if isinstance(grace, str):
        try:
            grace = _seconds(grace)
        except ValueError:
            return None
    assert isinstance(grace, float)
    config, name = values.get("config"), values.get("name")
    return RunArgs(
        config=config if isinstance(config, str) else None,
        name=name if isinstance(name, str) else None,
        grace=grace,
        no_group=bool(values.get("no_group")),
        verbose=bool(values.get("verbose")),
        command=command,
    )


def _run_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="pinit",
        usage=(
            "pinit [options] -- CMD [ARGS...]\n"
            "       pinit [options] --config FILE [-- CMD [ARGS...]]\n"
            "       pinit check [--config FILE] [--explain] [-- CMD [ARGS...]]\n"
            "       pinit ctl [--socket PATH | --config FILE] COMMAND ...\n"
            "       pinit version"
        ),
        description=(
            "A container init and process supervisor.\n"
            "  -- CMD      run CMD as the only child: forward signals to its process group,\n"
            "              reap every orphan, stop what is left when CMD exits, and exit\n"
            "              with CMD's status (128+N if CMD died of signal N)\n"
            "  --config    start, watch, restart and stop the programs of a TOML file; with\n"
            "              -- CMD too, CMD runs as the main program (named cmd) once every\n"
            "              autostart program is ready ([pinit].cmd_after), and its exit\n"
            "              status is pinit's, as with s6-overlay's /init and an image's CMD;\n"
            "              a [pinit].main of the config then runs as an ordinary program"
        ),
        epilog=(
            "subcommands:\n"
            "  check       validate a config on this host (pinit check --help)\n"
            "  ctl         status, start, stop, restart, signal, reload, logs, scale, health\n"
            "              of a running pinit over its control socket (pinit ctl --help)\n"
            "  import      supervisord.conf or Procfile -> pinit TOML (pinit import --help)\n"
            "  version     print pinit's version, its Python and how it was built\n"
            "\n"
            "signals with --config: TERM/INT/QUIT stop the programs in reverse order (a second\n"
            "one kills them at once), HUP reloads the config, any other goes to every program."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="supervise the programs of this TOML file (and CMD, if given, as the main one)",
    )
    parser.add_argument(
        "--name",
        help="process title becomes pinit-NAME-manager, control socket NAME.sock (overrides"
        " [pinit].name)",
    )
    parser.add_argument(
        "--grace",
        type=_grace_arg,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help="after CMD exits, how long leftovers get after SIGTERM before SIGKILL (default 5)",
    )
    parser.add_argument(
        "--no-group",
        action="store_true",
        help="forward signals to CMD alone, not to its process group",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each signal and reap to stderr"
    )
    parser.add_argument("--version", action="version", version=f"pinit {__version__}")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the program and its arguments")
    return parser


def _grace_arg(text: str) -> float:
    import argparse

    try:
        return _seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> float:
    """The config's duration parser (``5``, ``2.5s``, ``500ms``): it refuses ``nan``, ``inf``
    and ``1e999``, with which SIGKILL was never sent (issue 11.13). Imported only when
    ``--grace`` is given, off the default start path."""
    from pinit.config.units import parse_duration

    return parse_duration(text)


DEFAULT_CONFIG = "/etc/pinit.toml"


def _check(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="pinit check",
        description="Validate a config on this host: every error with its key path and line.",
    )
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help=f"the TOML config to check (default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the resolved plan: order, ids, umask, cwd, environment, stop budget",
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="after --: the CMD pinit --config FILE -- CMD would run as its main program",
    )
    args = parser.parse_args(argv)
    command: list[str] = args.command[1:] if args.command[:1] == ["--"] else args.command
    from pinit.checkcmd import run_check

    return run_check(args.config, args.explain, sys.stdout, sys.stderr, os.environ, command=command)


def _ctl_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="pinit ctl",
        description="Talk to a running pinit --config over its control socket.",
        epilog=(
            "NAME is a program (all its instances), an instance (web-2) or 'all'.\n"
            "The socket: --socket, else [pinit].control_socket of --config, else\n"
            "$PINIT_CONTROL_SOCKET (set for every program pinit runs), else\n"
            "/run/pinit/NAME.sock or ${XDG_RUNTIME_DIR:-/tmp}/pinit-UID/NAME.sock.\n"
            "exit status: 0 ok, 1 pinit answered with an error, 2 usage, 3 cannot connect"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help="the control socket's path")
    where.add_argument("--config", metavar="FILE", help="find the socket from this config")
    parser.add_argument("--name", help="the socket of `pinit --name NAME` (pinit@NAME.service)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the raw JSON reply")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sub.add_parser("status", parents=[common], help="every instance: state, pid, CPU, memory")
    for cmd, text in (("start", "start"), ("stop", "stop"), ("restart", "stop, then start")):
        verb = sub.add_parser(cmd, parents=[common], help=f"{text} NAME")
        verb.add_argument("target")
    verb.add_argument(
        "--rolling",
        action="store_true",
        help="one instance at a time, each ready before the next (the program's `rolling`)",
    )
    scale = sub.add_parser("scale", parents=[common], help="run N instances of a program")
    scale.add_argument("target")
    scale.add_argument("count", type=int, metavar="N", help="0..10000")
    sig = sub.add_parser("signal", parents=[common], help="send SIG to NAME's process groups")
    sig.add_argument("target")
    sig.add_argument("signal", metavar="SIG", help="HUP, SIGUSR1, 10, ...")
    sub.add_parser("reload", parents=[common], help="re-read the config (as SIGHUP does)")
    logs = sub.add_parser("logs", parents=[common], help="the last lines of NAME's log file")
    logs.add_argument("target", nargs="?", default="")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many (default 50)")
    events = sub.add_parser("events", parents=[common], help="follow events until pinit stops")
    events.add_argument("names", nargs="*", metavar="NAME", help="only these (and pinit's own)")
    events.add_argument("--history", type=int, default=0, metavar="N", help="N past events first")
    events.add_argument("--since-start", action="store_true", help="every event still kept")
    events.add_argument("--bound", type=int, default=1024, metavar="N", help=argparse.SUPPRESS)
    check = sub.add_parser(
        "health",
        parents=[common],
        help="exit 0 if the critical programs (or NAMEs) run, 1 if not, 3 if no pinit answers",
    )  # issue 8: for exec probes
    check.add_argument("names", nargs="*", metavar="NAME")
    check.add_argument("--ready", action="store_true", help="ready too, not only running")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    # issue 10: follow (tail -F), and reopen for logrotate's postrotate
    logs.add_argument("-f", "--follow", action="store_true", help="follow, across rotations")
    logs.add_argument("--reopen", action="store_true", help="close and reopen every log file")
    return parser


def _ctl(argv: list[str]) -> int:
    parser = _ctl_parser()
    args = parser.parse_args(argv)
    from pinit.control import paths, proto
    from pinit.control.client import run

    sig = None
    if args.cmd == "signal":
        sig = proto.parse_signal(args.signal)
        if sig is None:
            parser.error(f"unknown signal {args.signal!r}")
    if args.cmd == "logs" and args.lines < 1:
        parser.error("--lines must be at least 1")
    if args.cmd == "scale" and not 0 <= args.count <= proto.MAX_SCALE:
        parser.error(f"N must be 0..{proto.MAX_SCALE}")
    if args.cmd == "logs" and args.reopen:
        if args.target or args.follow:
            parser.error("--reopen takes no NAME and no --follow")
        args.cmd = "reopen"
    elif args.cmd == "logs" and not args.target:
        parser.error("logs: NAME is required (or --reopen)")
    configured, name = args.socket or "", "pinit"
    if not configured and (args.config or os.path.exists(DEFAULT_CONFIG)):
        from pinit.config.load import load_file

        config, errors = load_file(args.config or DEFAULT_CONFIG, os.environ)
        if config is None and args.config:
            for error in errors:
                print(f"pinit ctl: {error}", file=sys.stderr)
            return USAGE_EXIT
        if config is not None:
            configured, name = config.control_socket, config.name
    name = args.name or name
    where = [configured] if configured else paths.candidates("", name, os.environ)
    if args.cmd == "events":  # issue 8: the one command that streams
        from pinit.control.follow import follow

        history = proto.MAX_HISTORY if args.since_start else max(args.history, 0)
        bound = min(max(args.bound, 1), proto.MAX_BOUND)
        events = proto.Request("events", names=tuple(args.names), history=history, bound=bound)
        return follow(where, events, args.json, sys.stdout, sys.stderr)
    if args.cmd == "health":
        from pinit.control.client import health

        if not 0 < args.timeout <= 3600:  # inf would overflow SO_RCVTIMEO (i8_01)
            parser.error("--timeout must be above 0 and at most 3600 seconds")
        req = proto.Request("health", names=tuple(args.names), ready=args.ready)
        return health(where, req, args.timeout, as_json=args.json, out=sys.stdout, err=sys.stderr)
    req = proto.Request(
        args.cmd,
        getattr(args, "target", ""),
        signal=sig,
        lines=getattr(args, "lines", 50),
        count=getattr(args, "count", 0),
        rolling=getattr(args, "rolling", False),
    )
    if getattr(args, "follow", False):
        from pinit.control.logfollow import follow as follow_logs

        return follow_logs(where, req, sys.stdout, sys.stderr)
    return run(where, req, args.json, sys.stdout, sys.stderr)


def _version() -> int:
    """Says what the user runs: source, or which frozen layout (packaging/ sets the mode)."""
    if getattr(sys, "frozen", False):
        mode = f"frozen, {getattr(sys, '_pinit_build_mode', 'pyinstaller')}"
    else:
        mode = "source"
    print(f"pinit {__version__} (Python {sys.version.split()[0]}, {mode})")
    return 0


def _supervise(path: str, name: str | None, verbose: bool, command: list[str]) -> int:
    from pinit.config.resolve import load_checked

    environ = dict(os.environ)
    # With CMD, a config may hold no programs: CMD is the one to supervise (issue 7.5).
    config, errors = load_checked(path, environ, require_programs=not command)
    if config is not None and command:
        from pinit.config.maincmd import with_command

        if config.main is not None:
            print(
                f"pinit: CMD given: it is the main program; [pinit].main {config.main!r}"
                " runs as an ordinary program",
                file=sys.stderr,
            )
        try:
            config = with_command(config, command)
        except ValueError as exc:
            print(f"pinit: error: {exc}", file=sys.stderr)
            return USAGE_EXIT
    if config is None:
        for error in errors:
            print(f"pinit: {error}", file=sys.stderr)
        print(f"pinit: refusing to start: {len(errors)} error(s) in {path}", file=sys.stderr)
        return 1
    if name:  # issue 10: --name names the control socket too (pinit@.service's instances)
        from pinit.records import replace

        config = replace(config, name=name)
    set_title(manager_title(config.name if config.name != "pinit" else None))
    from pinit.runtime.supervisor import Supervisor

    return Supervisor(config, environ, verbose=verbose, command=command).run()


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["version"]:
        return _version()
    if args_in[:1] == ["check"]:
        return _check(args_in[1:])
    if args_in[:1] == ["ctl"]:
        return _ctl(args_in[1:])
    if args_in[:1] == ["import"]:  # issue 10: a translator, off the start path
        from pinit.importer import main as import_main

        return import_main(args_in[1:])
    args = fast_parse(args_in)
    if args is None or (args.config is None and not args.command):
        args = _slow_parse(args_in)
        if args is None:
            return USAGE_EXIT
    if args.config is not None:
        return _supervise(args.config, args.name, args.verbose, args.command)
    set_title(manager_title(args.name))
    from pinit.runtime.single import SingleChild

    return SingleChild(
        args.command, grace=args.grace, group=not args.no_group, verbose=args.verbose
    ).run()


def _slow_parse(args_in: list[str]) -> RunArgs | None:
    """argparse's reading, with its help, version and error messages (exit 2 on errors)."""
    parser = _run_parser()
    parsed = parser.parse_args(args_in)
    command: list[str] = parsed.command
    if command[:1] == ["--"]:
        command = command[1:]
    problem = ""
    if not parsed.config and not command:
        problem = "no command given (and no --config)"
    if problem:
        parser.print_usage(sys.stderr)
        print(f"pinit: error: {problem}", file=sys.stderr)
        return None
    return RunArgs(
        config=parsed.config,
        name=parsed.name,
        grace=parsed.grace,
        no_group=parsed.no_group,
        verbose=parsed.verbose,
        command=command,
    )
