"""The keys the loader accepts in each table, generated from config/reference.py by
scripts/gen-docs (tests/unit/test_readme.py fails while it is out of date). Do not edit.

Why a copy: the reference also holds every key's meaning, example and JSON Schema: 94 KiB
that PID 1 kept for good only to check key names (this: 11 KiB; issue 7, PSS).
"""

__all__ = ["LIVE_PROBES", "MAX_CPU", "READY_PROBES", "keys"]

MAX_CPU = 8191
READY_PROBES = ("tcp", "http", "command", "notify")
LIVE_PROBES = ("tcp", "http", "command")

_KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "pinit",
            "programs",
        }
    ),
    "pinit": frozenset(
        {
            "cmd_after",
            "control_socket",
            "http",
            "include",
            "log_dir",
            "log_format",
            "main",
            "memory_interval",
            "name",
            "on_fatal",
            "reopen_signal",
            "stop_budget",
            "stop_timeout",
        }
    ),
    "programs": frozenset(
        {
            "NAME",
        }
    ),
    "programs.NAME": frozenset(
        {
            "after",
            "autostart",
            "backoff",
            "binds_to",
            "command",
            "cpu_affinity",
            "critical",
            "cwd",
            "environment",
            "exit_codes",
            "flap_max",
            "flap_window",
            "graceful_exit_codes",
            "group",
            "live",
            "max_lifetime",
            "max_lifetime_jitter",
            "max_memory",
            "max_memory_for",
            "nice",
            "numprocs",
            "oom_score_adj",
            "ready",
            "restart",
            "rlimits",
            "rolling",
            "start_retries",
            "start_seconds",
            "stderr",
            "stdout",
            "stop_signal",
            "stop_timeout",
            "title",
            "umask",
            "user",
            "watchdog",
        }
    ),
    "programs.NAME.backoff": frozenset(
        {
            "factor",
            "initial",
            "jitter",
            "max",
        }
    ),
    "programs.NAME.live": frozenset(
        {
            "command",
            "failures",
            "http",
            "initial_delay",
            "interval",
            "tcp",
            "timeout",
        }
    ),
    "programs.NAME.ready": frozenset(
        {
            "command",
            "http",
            "interval",
            "notify",
            "tcp",
            "timeout",
        }
    ),
    "programs.NAME.rlimits": frozenset(
        {
            "as",
            "core",
            "cpu",
            "data",
            "fsize",
            "memlock",
            "msgqueue",
            "nice",
            "nofile",
            "nproc",
            "rss",
            "rtprio",
            "sigpending",
            "stack",
        }
    ),
    "programs.NAME.stdout": frozenset(
        {
            "backups",
            "compress",
            "file",
            "max_age",
            "max_bytes",
            "passthrough",
            "rotate_every",
            "timestamps",
        }
    ),
}


def keys(table: str) -> frozenset[str]:
    """The keys allowed directly in ``table`` ("" for the top level, "pinit",
    "programs.NAME", "programs.NAME.backoff", ...)."""
    return _KEYS.get(table, frozenset())
