"""Command line: wires the parts together and holds no logic of its own.

pinit [--name N] [--grace S] [--no-group] [-v] -- CMD [ARGS...]
pinit version
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pinit import __version__

USAGE_EXIT = 2


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinit",
        usage=(
            "pinit [options] -- CMD [ARGS...]\n"
            "       pinit [options] --config FILE\n"
            "       pinit check [--config FILE] [--explain]\n"
            "       pinit version"
        ),
        description=(
            "A container init: runs CMD as its child, forwards signals to CMD's process "
            "group, reaps every orphan, stops whatever is left when CMD exits, and exits "
            "with CMD's status (128+N if CMD died by signal N)."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="supervise the programs of this TOML file instead of running one CMD",
    )
    parser.add_argument("--name", help="process title becomes pinit-NAME-manager")
    parser.add_argument(
        "--grace",
        type=_seconds,
        default=5.0,
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


def _seconds(text: str) -> float:
    try:
        value = float(text.removesuffix("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _set_title(name: str | None) -> None:
    """First thing, before anything edits os.environ: setproctitle may move environ's memory.

    (gunicorn #3430: a title set after environ changed clobbered the environment.)
    """
    try:
        import setproctitle
    except ImportError:  # pragma: no cover - a dependency, but a title is not worth dying for
        return
    setproctitle.setproctitle(f"pinit-{name}-manager" if name else "pinit")


DEFAULT_CONFIG = "/etc/pinit.toml"


def _check(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="pinit check",
        description="Validate a config on this host: every error with its key path and line.",
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the resolved plan: order, ids, umask, cwd, environment, stop budget",
    )
    args = parser.parse_args(argv)
    from pinit.checkcmd import run_check

    return run_check(args.config, args.explain, sys.stdout, sys.stderr, os.environ)


def _version() -> int:
    frozen = getattr(sys, "frozen", False)
    mode = "frozen (PyInstaller)" if frozen else "source"
    print(f"pinit {__version__} (Python {sys.version.split()[0]}, {mode})")
    return 0


def _supervise(path: str, name: str | None, verbose: bool) -> int:
    from pinit.config.load import load_file
    from pinit.config.resolve import check_host

    environ = dict(os.environ)
    config, errors = load_file(path, environ)
    if config is not None:
        errors = check_host(config, environ)
    if config is None or errors:
        for error in errors:
            print(f"pinit: {error}", file=sys.stderr)
        print(f"pinit: refusing to start: {len(errors)} error(s) in {path}", file=sys.stderr)
        return 1
    _set_title(name or (config.name if config.name != "pinit" else None))
    from pinit.runtime.supervisor import Supervisor

    return Supervisor(config, environ, verbose=verbose).run()


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["version"]:
        return _version()
    if args_in[:1] == ["check"]:
        return _check(args_in[1:])
    parser = _run_parser()
    args = parser.parse_args(args_in)
    command: list[str] = args.command
    if command[:1] == ["--"]:
        command = command[1:]
    if args.config and command:
        parser.print_usage(sys.stderr)
        print("pinit: error: give either --config FILE or -- CMD, not both", file=sys.stderr)
        return USAGE_EXIT
    if args.config:
        return _supervise(args.config, args.name, args.verbose)
    if not command:
        parser.print_usage(sys.stderr)
        print("pinit: error: no command given (and no --config)", file=sys.stderr)
        return USAGE_EXIT
    _set_title(args.name)
    from pinit.runtime.single import SingleChild

    return SingleChild(
        command, grace=args.grace, group=not args.no_group, verbose=args.verbose
    ).run()
