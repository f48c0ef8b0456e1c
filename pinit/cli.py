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
    if args_in[:1] == ["ctl"]:  # off the start path, as check is
        from pinit.ctlcmd import run_ctl

        return run_ctl(args_in[1:], DEFAULT_CONFIG)
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
