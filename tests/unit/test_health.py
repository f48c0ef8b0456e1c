"""Issue 8: the health verdict (model/health.py) and the `health` request on the wire."""

from __future__ import annotations

import pytest

from pinit.config.schema import Liveness, Readiness, ReadyKind, Restart
from pinit.control import proto
from pinit.model import health
from pinit.model.events import LiveFailed
from tests.unit.modelcore import Core
from tests.unit.test_state import prog


def verdict(c: Core, *names: str, ready: bool = False) -> list[str] | str:
    insts = health.watched(c.plan, names)
    return insts if isinstance(insts, str) else health.problems(c.plan, insts, ready)


def test_only_critical_programs_count_when_there_are_some() -> None:
    c = Core(prog(name="web", critical=True), prog(name="job"), unspawnable=frozenset({"job"}))
    c.settle(3)
    assert verdict(c) == []
    assert verdict(c, "job")[0].startswith("job: ")  # type: ignore[index]


def test_main_is_critical() -> None:
    c = Core(prog(name="web"), prog(name="job"), main="job", unspawnable=frozenset({"job"}))
    c.settle(3)
    problems = verdict(c)
    assert isinstance(problems, list)
    assert [p.split(":")[0] for p in problems] == ["job"]


def test_without_critical_programs_every_autostart_one_counts() -> None:
    c = Core(prog(name="a"), prog(name="b", autostart=False))
    c.settle(3)
    assert verdict(c) == []
    assert verdict(c, "b") == ["b: STOPPED"]


def test_backoff_line_names_the_exit() -> None:
    c = Core(prog(name="web", critical=True, start_seconds=5.0))
    c.crash("web", 3 << 8)
    assert verdict(c) == ["web: BACKOFF (exited 3), restarting"]


def test_ready_is_asked_only_with_ready() -> None:
    ready = Readiness(ReadyKind.TCP, "127.0.0.1", 9)
    c = Core(prog(name="db", ready=ready, start_seconds=0.0), probe_ok=False)
    assert verdict(c) == []
    assert verdict(c, ready=True) == ["db: RUNNING, not ready"]


def test_shutting_down_is_unhealthy() -> None:
    c = Core(prog(name="web"))
    c.settle(3)
    c.shutdown("SIGTERM")
    assert verdict(c) == ["pinit is shutting down (SIGTERM)"]


def test_a_program_left_down_by_liveness_is_not_a_finished_job() -> None:
    live = Liveness(Readiness(ReadyKind.TCP, "127.0.0.1", 9), failures=1)
    c = Core(prog(name="web", live=live, restart=Restart.NEVER), prog(name="other"))
    c.settle(3)
    c.post(("web", 0), LiveFailed())
    c.settle(5)
    assert verdict(c, "web") == ["web: EXITED (killed by SIGTERM), not restarted"]


def test_unknown_names_are_an_error() -> None:
    c = Core(prog(name="web"))
    assert verdict(c, "web", "nope") == "no program or instance 'nope' (known: web)"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"cmd": "health"}', proto.Request("health")),
        (
            b'{"cmd": "health", "names": ["web", "db-2"], "ready": true}',
            proto.Request("health", names=("web", "db-2"), ready=True),
        ),
        (b'{"cmd": "health", "names": "web"}', "array"),
        (b'{"cmd": "health", "names": [1]}', "names"),
        (b'{"cmd": "health", "names": ["a\\nb"]}', "names"),
        (b'{"cmd": "health", "ready": 1}', "true or false"),
        (b'{"cmd": "health", "target": "web"}', "unknown key"),
        (b'{"cmd": "health", "names": [' + b",".join([b'"a"'] * 65) + b"]}", "at most 64"),
    ],
)
def test_health_request_parsing(line: bytes, expected: proto.Request | str) -> None:
    got = proto.parse_request(line)
    if isinstance(expected, str):
        assert isinstance(got, str)
        assert expected in got
    else:
        assert got == expected
        assert proto.parse_request(proto.encode(proto.request_json(got)).strip()) == got
