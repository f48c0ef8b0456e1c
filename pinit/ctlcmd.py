"""``pinit ctl``: its argument parser and the dispatch of a parsed command to the client side.

Like ``checkcmd.py``, off PID 1's start path: ``cli.main`` imports it only for ``pinit ctl``
(argparse and the control client are never loaded by ``pinit --config``). Which command talks
how: ``events`` streams (``control/follow.py``), ``health`` answers with an exit status for exec
probes, ``logs -f`` follows files client side (``control/logfollow.py``), the rest is one
request and one reply (``control/client.py``).
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["USAGE_EXIT", "config_to_read", "ctl_parser", "run_ctl"]

USAGE_EXIT = 2  # ctl's documented exit status for a usage error, as argparse's own


def ctl_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinit ctl",
        description="Talk to a running pinit --config over its control socket.",
        epilog=(
            "NAME is a program (all its instances), an instance (web-2) or 'all'.\n"
            "The socket: --socket, else [pinit].control_socket of --config, else\n"
            "that of --name NAME (which beats the default config's, so pinit@NAME's\n"
            "ExecReload reaches its own pinit), else $PINIT_CONTROL_SOCKET (set for\n"
            "every program pinit runs), else /run/pinit/NAME.sock or\n"
            "${XDG_RUNTIME_DIR:-/tmp}/pinit-UID/NAME.sock.\n"
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


def config_to_read(
    socket_arg: str | None, config_arg: str | None, name_arg: str | None, default_config: str
) -> str:
    """The config whose ``[pinit]`` finds the socket, or "" to read none.

    Explicit beats implicit: --socket needs no config, --config is read (its control_socket
    beats --name), and the default config only without --name, else /etc/pinit.toml's
    control_socket would send `pinit ctl --name %i reload` (units/pinit@.service) to the
    wrong pinit.
    """
    if socket_arg:
        return ""
    if config_arg:
        return config_arg
    if name_arg or not os.path.exists(default_config):
        return ""
    return default_config


def run_ctl(argv: list[str], default_config: str) -> int:
    """`pinit ctl ARGS`: ``default_config`` is where the socket is looked up without --config."""
    parser = ctl_parser()
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
    read = config_to_read(args.socket, args.config, args.name, default_config)
    if read:
        from pinit.config.load import load_file

        config, errors = load_file(read, os.environ)
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
