"""pinit.service and pinit@web.service under a real systemd as PID 1 (issue 10): podman's
--systemd=always on a bookworm image with the systemd package. systemd must see the service
active with pinit's STATUS= and its MainPID; `systemctl reload` (HUP) must start a program the
edited config adds; `systemctl stop` must end it cleanly with nothing left in the container.

Waits are on events: `systemctl is-system-running --wait` blocks until boot is done, the
journal is followed (`journalctl -f`) for pinit's own log lines, and `systemctl stop` returns
when the unit is down."""

from __future__ import annotations

import os
import select
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.container.conftest import CA_BUNDLE, ENV, ROOT, podman

pytestmark = pytest.mark.container

PINIT_IMAGE = "localhost/pinit-h10-units:latest"
SYSTEMD_IMAGE = "localhost/pinit-h10-systemd:latest"
RELOAD_IMAGE = "localhost/pinit-h10-systemd-reload:latest"


@pytest.fixture(scope="module")
def pinit_image() -> str:
    """The repo's image, under a tag of its own (other builds may retag pinit-test)."""
    args = ["build", "--pull=never", "--layers", "-t", PINIT_IMAGE]
    args += ["-f", str(ROOT / "Containerfile")]
    if CA_BUNDLE.is_file():
        args += ["--secret", f"id=ca,src={CA_BUNDLE}"]
    podman(*args, str(ROOT), timeout=900, check=True)
    return PINIT_IMAGE


def build_systemd(pinit_image: str, tag: str, *build_args: str) -> str:
    args = ["build", "--pull=never", "--layers", "--build-arg", f"PINIT_IMAGE={pinit_image}"]
    for arg in build_args:
        args += ["--build-arg", arg]
    args += ["-t", tag, "-f", str(ROOT / "tests" / "container" / "systemd" / "Containerfile")]
    podman(*args, str(ROOT), timeout=900, check=True)
    return tag


@pytest.fixture(scope="module")
def systemd_image(pinit_image: str) -> str:
    """bookworm's systemd 252 with pinit.service and pinit@web.service enabled."""
    return build_systemd(pinit_image, SYSTEMD_IMAGE)


@pytest.fixture(scope="module")
def reload_image(pinit_image: str) -> str:
    """bookworm-backports' systemd (>= 253) with pinit-reload.service (Type=notify-reload)."""
    return build_systemd(pinit_image, RELOAD_IMAGE, "BACKPORTS=1", "ENABLE=pinit-reload.service")


def boot(image: str) -> Iterator[str]:
    name = f"pinit-h10-sd-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "--systemd=always", image, timeout=120, check=True)
    try:
        # `--wait` blocks until boot is done, once systemd's bus exists: until then it fails at
        # once ("Failed to connect to bus"), and before systemd has made /run/systemd/system it
        # says "offline" (sd_booted() is false yet). Only those two are retried, within a
        # deadline: each try is a `podman exec`, itself ~0.1 s.
        deadline = time.monotonic() + 120
        while True:
            left = max(1.0, deadline - time.monotonic())  # the whole wait stays within 120 s
            state = podman("exec", name, "systemctl", "is-system-running", "--wait", timeout=left)
            early = "connect to bus" in state.stderr or state.stdout.strip() == "offline"
            if not early or time.monotonic() > deadline:
                break
        assert state.stdout.strip() == "running", state.stdout + state.stderr
        yield name
    finally:
        podman("rm", "-f", "-t", "0", name, timeout=60)


@pytest.fixture
def booted(systemd_image: str) -> Iterator[str]:
    yield from boot(systemd_image)


@pytest.fixture
def booted_reload(reload_image: str) -> Iterator[str]:
    yield from boot(reload_image)


def show(name: str, unit: str) -> dict[str, str]:
    out = podman(
        "exec",
        name,
        "systemctl",
        "show",
        "-p",
        "ActiveState,SubState,StatusText,MainPID,Result",
        unit,
        check=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class Journal:
    """`journalctl -f -u UNIT` in the container; lines read with a deadline."""

    def __init__(self, name: str, unit: str) -> None:
        self.proc = subprocess.Popen(
            ["podman", "exec", name, "journalctl", "-f", "-o", "cat", "-n", "all", "-u", unit],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        self.buf = b""

    def wait(self, needle: str, timeout: float = 30.0) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            *lines, self.buf = self.buf.split(b"\n")
            for i, line in enumerate(lines):
                if needle.encode() in line:
                    self.buf = b"\n".join([*lines[i + 1 :], self.buf])
                    return line.decode()
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"{needle!r} not in the journal within {timeout}s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"journalctl ended before {needle!r}")
            self.buf += chunk

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)


def in_unit(name: str, unit: str) -> list[str]:
    """Command lines of the processes in the unit's cgroup (/proc/PID/cgroup names it)."""
    script = (
        f"for p in /proc/[0-9]*; do grep -qs '/{unit}$' $p/cgroup"
        " && { tr '\\0' ' ' < $p/cmdline; echo; }; done; true"
    )
    out = podman("exec", name, "sh", "-c", script, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("unit", "title"), [("pinit.service", "pinit"), ("pinit@web.service", "pinit-web-manager")]
)
def test_unit_under_real_systemd(booted: str, unit: str, title: str) -> None:
    journal = Journal(booted, unit)
    try:
        journal.wait("a: running (pid")
        assert any("sleep 100001" in c for c in in_unit(booted, unit))  # the check can fail
        state = show(booted, unit)
        assert state["ActiveState"] == "active", state
        assert "running" in state["StatusText"], state  # pinit's STATUS=, from its READY=1
        main = int(state["MainPID"])
        title_seen = podman("exec", booted, "cat", f"/proc/{main}/cmdline", check=True).stdout
        assert title_seen.split("\0")[0].strip() == title

        config = "/etc/pinit.toml" if unit == "pinit.service" else "/etc/pinit/web.toml"
        add = '[programs.b]\\ncommand = ["sleep", "100002"]\\nstart_seconds = "200ms"\\n'
        podman("exec", booted, "sh", "-c", f"printf '{add}' >> {config}", check=True)
        podman("exec", booted, "systemctl", "reload", unit, check=True)
        journal.wait("b: running (pid")
        state = show(booted, unit)
        assert state["ActiveState"] == "active" and int(state["MainPID"]) == main, state

        podman("exec", booted, "systemctl", "stop", unit, timeout=120, check=True)
        state = show(booted, unit)
        assert state["ActiveState"] == "inactive" and state["Result"] == "success", state
        assert in_unit(booted, unit) == []
    finally:
        journal.close()


@pytest.mark.timeout(900)
def test_notify_reload_unit_under_real_systemd(booted_reload: str) -> None:
    """systemd >= 253 sends SIGHUP for `systemctl reload` and returns only after pinit's
    RELOADING=1 (with MONOTONIC_USEC, or systemd ignores it) and READY=1: so StatusText says
    "reloaded" the moment the command returns, and a refused config does not hang it."""
    name, unit = booted_reload, "pinit-reload.service"
    verify = podman(
        "exec", name, "systemd-analyze", "verify", "--man=no", f"/etc/systemd/system/{unit}"
    )
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    journal = Journal(name, unit)
    try:
        journal.wait("a: running (pid")
        state = show(name, unit)
        assert state["ActiveState"] == "active" and "running" in state["StatusText"], state
        add = '[programs.b]\\ncommand = ["sleep", "100002"]\\nstart_seconds = "200ms"\\n'
        podman("exec", name, "sh", "-c", f"printf '{add}' >> /etc/pinit.toml", check=True)
        podman("exec", name, "systemctl", "reload", unit, timeout=60, check=True)
        assert show(name, unit)["StatusText"] == "reloaded"
        journal.wait("b: running (pid")

        podman("exec", name, "sh", "-c", "echo 'broken =' >> /etc/pinit.toml", check=True)
        podman("exec", name, "systemctl", "reload", unit, timeout=60, check=True)
        state = show(name, unit)
        assert state["ActiveState"] == "active", state
        assert state["StatusText"].startswith("reload refused"), state

        podman("exec", name, "systemctl", "stop", unit, timeout=120, check=True)
        state = show(name, unit)
        assert state["ActiveState"] == "inactive" and state["Result"] == "success", state
        assert in_unit(name, unit) == []
    finally:
        journal.close()
