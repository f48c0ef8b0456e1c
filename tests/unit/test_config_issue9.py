"""Issue 9's keys in the loader and `pinit check`: placement (`cpu_affinity`, `nice`,
`oom_score_adj`) and bound dependencies (`binds_to`), each mistake with its key path and line."""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import pytest

from pinit.checkcmd import run_check
from pinit.config.graph import start_layers
from pinit.config.load import load_text
from pinit.config.resolve import check_host, load_checked
from pinit.config.schema import Config, ConfigError

PATH = "/etc/pinit/pinit.toml"


def load(text: str) -> tuple[Config | None, list[ConfigError]]:
    return load_text(textwrap.dedent(text), PATH, {})


def errors_of(text: str) -> list[tuple[str, int | None, str]]:
    config, errors = load(text)
    assert config is None
    return [(e.key_path, e.line, e.message) for e in errors]


def test_placement_keys_load() -> None:
    config, errors = load(
        """\
        [programs.a]
        command = "x"
        cpu_affinity = [3, "0-1", " 5 - 6 ", 1]
        nice = -20
        oom_score_adj = 1000
        [programs.b]
        command = "x"
        cpu_affinity = "spread"
        nice = 19
        oom_score_adj = -1000
        [programs.c]
        command = "x"
        """
    )
    assert errors == [] and config is not None
    a, b, c = config.programs
    assert (a.cpu_affinity, a.nice, a.oom_score_adj) == ((0, 1, 3, 5, 6), -20, 1000)
    assert (b.cpu_affinity, b.nice, b.oom_score_adj) == ("spread", 19, -1000)
    assert (c.cpu_affinity, c.nice, c.oom_score_adj) == (None, None, None)


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ("nice = -21", "programs.a.nice", "must be >= -20, got -21"),
        ("nice = 20", "programs.a.nice", "must be <= 19, got 20"),
        ("oom_score_adj = 1001", "programs.a.oom_score_adj", "must be <= 1000, got 1001"),
        ("oom_score_adj = -1001", "programs.a.oom_score_adj", "must be >= -1000, got -1001"),
        ("cpu_affinity = []", "programs.a.cpu_affinity", "must name at least one CPU"),
        ('cpu_affinity = "all"', "programs.a.cpu_affinity", "expected an array of CPUs"),
        ('cpu_affinity = ["3-1"]', "programs.a.cpu_affinity[0]", "ends before it starts"),
        ('cpu_affinity = [0, "x"]', "programs.a.cpu_affinity[1]", "expected a CPU number"),
        ("cpu_affinity = [-1]", "programs.a.cpu_affinity[0]", "must be >= 0, got -1"),
        ("cpu_affinity = [9000]", "programs.a.cpu_affinity", "past the largest possible"),
    ],
)
def test_placement_mistakes(line: str, key: str, message: str) -> None:
    [(got_key, got_line, got_message)] = errors_of(f'[programs.a]\ncommand = "x"\n{line}\n')
    assert (got_key, got_line) == (key, 3)
    assert message in got_message


def test_check_rejects_cpus_pinit_may_not_use(tmp_path: Path) -> None:
    allowed = os.sched_getaffinity(0)
    barred = max(allowed) + 1  # past the last CPU pinit may use: never allowed
    body = f'[programs.a]\ncommand = "/bin/sh"\ncpu_affinity = [{min(allowed)}, {barred}]\n'
    path = tmp_path / "pinit.toml"
    path.write_text(body)
    config, errors = load_checked(str(path), {"PATH": "/usr/bin:/bin"})
    assert config is None
    [err] = errors
    assert (err.key_path, err.line) == ("programs.a.cpu_affinity", 3)
    assert f"CPU {barred} not allowed here" in err.message
    ok = body.replace(f", {barred}]", "]")
    loaded, problems = load_text(ok, str(path), {})
    assert problems == [] and loaded is not None
    assert check_host(loaded, {"PATH": "/usr/bin:/bin"}) == []


def test_binds_to_loads_and_orders_like_after() -> None:
    config, errors = load(
        """\
        [programs.redis]
        command = "x"
        [programs.client]
        command = "x"
        binds_to = ["redis", "redis"]
        """
    )
    assert errors == [] and config is not None
    assert config.program("client").binds_to == ("redis",)
    assert start_layers(config.programs) == [["redis"], ["client"]]


def test_binds_to_unknown_and_self() -> None:
    got = errors_of(
        """\
        [programs.redis]
        command = "x"
        [programs.client]
        command = "x"
        binds_to = ["client", "rediss"]
        """
    )
    assert got == [
        ("programs.client.binds_to[0]", 5, "a program cannot be bound to itself"),
        ("programs.client.binds_to[1]", 5, "no such program 'rediss' (did you mean 'redis'?)"),
    ]


def test_binds_to_cycle_with_after() -> None:
    got = errors_of(
        """\
        [programs.a]
        command = "x"
        binds_to = ["b"]
        [programs.b]
        command = "x"
        after = ["a"]
        """
    )
    assert got == [("programs.a.binds_to", 3, "dependency cycle: a -> b -> a")]


def test_explain_shows_placement_and_bindings(tmp_path: Path) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    conf = tmp_path / "pinit.toml"
    conf.write_text(
        '[programs.redis]\ncommand = ["/bin/sh"]\nnice = 3\noom_score_adj = -10\n'
        '[programs.w]\ncommand = ["/bin/sh"]\nnumprocs = 2\ncpu_affinity = "spread"\n'
        'binds_to = ["redis"]\n'
    )
    out = io.StringIO()
    assert run_check(str(conf), True, out, io.StringIO(), {"PATH": "/usr/bin:/bin"}) == 0
    text = out.getvalue()
    assert "  placement:   nice 3, oom_score_adj -10\n" in text
    assert "process w-2\n" in text
    assert f"  placement:   cpu {allowed[1 % len(allowed)]} (spread)\n" in text
    assert "  binds_to:    redis (stopped and started again with)\n" in text
