"""``pinit --config FILE -- CMD ARGS...``: the image's CMD as the config's main program (issue 7.5).

s6-overlay's ``/init`` runs the config's services and then the image's CMD, whose exit ends the
container with its status. pinit does the same, so an image with
``ENTRYPOINT ["pinit", "--config", "/etc/pinit.toml"]`` also runs as ``podman run IMAGE myapp``.
CMD becomes a program named ``cmd`` (the name ``pinit ctl`` and the log lines use), with
``restart = "never"``, pinit's own stdin/stdout/stderr, ``after`` every autostart program (or
``[pinit].cmd_after``), and it is ``main``: its exit status is pinit's, 128+N for a signal.
A config that names its own ``main`` keeps that program as an ordinary one: CMD wins, as
``docker run IMAGE CMD`` overrides the image's default command.

Applied after the config is loaded (and again after every reload, which never changes CMD),
by the CLI, ``pinit check`` and the supervisor, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pinit.config.schema import Config, Program, Restart

__all__ = ["CMD_NAME", "with_command"]

CMD_NAME = "cmd"


def with_command(config: Config, argv: Sequence[str], running: Program | None = None) -> Config:
    """The config with CMD added as its main program. Raises ValueError when a configured
    program already has the name ``cmd`` (the CLI reports it as a usage error).

    ``running``: on a reload, CMD's program as it runs now, kept as it is: a reload that adds
    a program (and so would widen CMD's default ``after``) must not restart the container's
    main command. ``after`` names a reload removed are ignored by the plan and the graph.
    """
    if any(prog.name == CMD_NAME for prog in config.programs):
        raise ValueError(
            f"a program of {config.path or 'the config'} is named {CMD_NAME!r}, the name the"
            " command after -- runs under: rename it"
        )
    if running is not None:
        return replace(config, programs=(*config.programs, running), main=CMD_NAME)
    if config.cmd_after is None:
        after = tuple(prog.name for prog in config.programs if prog.autostart)
    else:
        after = config.cmd_after
    cmd = Program(
        CMD_NAME,
        tuple(argv),
        restart=Restart.NEVER,
        start_seconds=0.0,  # up once started, as tini's child: nothing to wait for
        stop_timeout=config.stop_timeout,
        after=after,
    )
    return replace(config, programs=(*config.programs, cmd), main=CMD_NAME)
