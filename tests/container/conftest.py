"""Container tests: build the real image with podman and run the frozen pinit as PID 1.

They need rootful podman set up by scripts/podman-setup (runc runtime, lowered ulimits in
.podman/containers.conf, the base image debian:bookworm-slim made with debootstrap).  Without
it, every test here is skipped with the reason.  Run them with:

    scripts/podman-setup && pytest -m container tests/container
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/pinit-test:latest"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SETUP_HINT = "run scripts/podman-setup (then export CONTAINERS_CONF it prints)"


def _podman_env() -> dict[str, str]:
    env = dict(os.environ)
    conf = ROOT / ".podman" / "containers.conf"
    if "CONTAINERS_CONF" not in env and conf.is_file():
        env["CONTAINERS_CONF"] = str(conf)
    return env


ENV = _podman_env()


def podman(
    *args: str, timeout: float = 60, check: bool = False
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def _not_ready_reason() -> str | None:
    if os.geteuid() != 0:
        return "container tests need root (rootful podman)"
    if shutil.which("podman") is None:
        return f"podman is not installed: {SETUP_HINT}"
    if "CONTAINERS_CONF" not in ENV:
        return f"no containers.conf (runc runtime, ulimits): {SETUP_HINT}"
    if podman("image", "exists", "debian:bookworm-slim", timeout=30).returncode != 0:
        return f"base image debian:bookworm-slim is missing: {SETUP_HINT}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    mine = [i for i in items if Path(str(i.fspath)).is_relative_to(here)]
    if not mine:
        return
    reason = _not_ready_reason()
    if reason:
        for item in mine:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def image() -> str:
    """Build the image from the repo's Containerfile (layers cached by podman)."""
    args = ["build", "--pull=never", "--layers", "-t", IMAGE, "-f", str(ROOT / "Containerfile")]
    if CA_BUNDLE.is_file():  # a TLS-intercepting proxy's CA, for pip in the builder stage
        args += ["--secret", f"id=ca,src={CA_BUNDLE}"]
    started = time.monotonic()
    proc = podman(*args, str(ROOT), timeout=900)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"podman build failed ({proc.returncode}):\n{tail}")
    print(f"image built in {time.monotonic() - started:.1f} s")
    return IMAGE


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"pinit-ct-{uuid.uuid4().hex[:10]}"
    yield name
    podman("rm", "-f", "-t", "0", name, timeout=60)


@pytest.fixture(scope="session")
def supports_config(image: str) -> bool:
    out = podman("run", "--rm", "--network=none", "--entrypoint", "pinit", image, "--help")
    return "--config" in out.stdout
