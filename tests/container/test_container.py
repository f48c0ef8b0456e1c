"""The frozen pinit as PID 1 of a real podman container (see conftest.py for the set-up)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import podman

pytestmark = pytest.mark.container

RUN = ("run", "--rm", "--network=none")

# every /proc/N with its state, parent and command line, from a stock minbase shell
PS = (
    "for d in /proc/[0-9]*; do "
    "s=$(awk '/^State/{print $2} /^PPid/{print $2}' $d/status 2>/dev/null | tr '\\n' ' '); "
    "c=$(tr '\\0' ' ' < $d/cmdline 2>/dev/null); "
    'echo "${d#/proc/} $s$c"; done'
)


def ps(name: str) -> list[tuple[int, str, int, str]]:
    """(pid, state, ppid, cmdline) of every process in the container."""
    out = podman("exec", name, "sh", "-c", PS, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[2].isdigit():  # skip processes gone while we looked
            rows.append(
                (int(parts[0]), parts[1], int(parts[2]), parts[3] if len(parts) > 3 else "")
            )
    return rows


def wait_running(name: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = podman("inspect", name, "--format", "{{.State.Status}}").stdout.strip()
        if state == "running":
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} not running: {podman('logs', name).stderr}")


def exit_code(name: str) -> int:
    return int(podman("inspect", name, "--format", "{{.State.ExitCode}}", check=True).stdout)


@pytest.mark.timeout(900)  # a cold build: apt + pip + PyInstaller in the builder stage
def test_image_builds_and_runs_version(image: str) -> None:
    out = podman(*RUN, "--entrypoint", "pinit", image, "version", check=True)
    assert out.stdout.startswith("pinit "), out.stdout
    cmd = podman("image", "inspect", image, "--format", "{{json .Config.Entrypoint}}", check=True)
    assert cmd.stdout.strip() == '["pinit","--config","/etc/pinit.toml"]'


@pytest.mark.timeout(120)
def test_pid1_is_pinits_python(image: str) -> None:
    script = "echo ppid=$PPID; readlink /proc/1/exe; grep -c libpython /proc/1/maps; env"
    out = podman(*RUN, "--entrypoint", "pinit", image, "--", "sh", "-c", script, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "ppid=1"  # the shell's parent is PID 1, and PID 1 is ...
    assert lines[1].startswith("/usr/local/lib/pinit/pinit-") and lines[1].endswith("/pinit")
    assert int(lines[2]) > 0  # ... a process running Python itself, not a bootloader
    env = "\n".join(lines[3:])
    assert "_PYI_" not in env and "LD_LIBRARY_PATH" not in env and "_PINIT_SFX" not in env


@pytest.mark.timeout(120)
def test_the_images_pinit_forwards_in_c(image: str) -> None:
    """The image's own build (Containerfile) has the C forwarding loop (setup.py copied in):
    once a forwarded USR1 shows pinit in its loop, its shared object is mapped in PID 1."""
    script = "trap 'grep -c _forward /proc/1/maps; exit 0' USR1; kill -USR1 1; while :; do :; done"
    out = podman(*RUN, "--entrypoint", "pinit", image, "--", "sh", "-c", script, check=True)
    assert int(out.stdout.strip()) > 0, out.stdout


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("script", "code"),
    [("exit 0", 0), ("exit 7", 7), ("kill -TERM $$", 143), ("kill -KILL $$", 137)],
)
def test_exit_status_propagates(image: str, script: str, code: int) -> None:
    proc = podman(*RUN, "--entrypoint", "pinit", image, "--", "sh", "-c", script)
    assert proc.returncode == code, proc.stderr


@pytest.mark.timeout(120)
def test_podman_stop_exits_143_quickly(image: str, container_name: str) -> None:
    podman(
        "run",
        "-d",
        "--network=none",
        "--name",
        container_name,
        "--entrypoint",
        "pinit",
        image,
        "--",
        "sleep",
        "1000",
        check=True,
    )
    wait_running(container_name)
    # at once, while pinit may still be starting: PID 1 drops signals it has no handler for,
    # so this only passes because the launcher blocks them until pinit's handlers are in
    started = time.monotonic()
    podman("stop", "-t", "10", container_name, check=True, timeout=60)
    took = time.monotonic() - started
    assert exit_code(container_name) == 143
    # a lost SIGTERM would show as 137 after the 10 s of `-t 10`; the bound leaves a busy box
    # the podman CLI's own start and cleanup
    assert took < 9, f"podman stop took {took:.1f} s: SIGTERM did not end it"


@pytest.mark.timeout(120)
def test_exec_orphans_are_reaped_by_pid1(image: str, container_name: str) -> None:
    podman(
        "run",
        "-d",
        "--network=none",
        "--name",
        container_name,
        "--entrypoint",
        "pinit",
        image,
        "--",
        "sleep",
        "1000",
        check=True,
    )
    wait_running(container_name)
    # a double fork from an exec session: the subshell exits, `sleep 300` is orphaned; it
    # lives until killed below, however slow the exec sessions in between are
    podman(
        "exec",
        container_name,
        "sh",
        "-c",
        "(sleep 300 </dev/null >/dev/null 2>&1 &); true",
        check=True,
    )
    orphans = [r for r in ps(container_name) if r[3].strip() == "sleep 300"]
    assert orphans, ps(container_name)
    assert orphans[0][2] == 1, f"orphan not adopted by PID 1: {orphans}"
    podman("exec", container_name, "sh", "-c", f"kill {orphans[0][0]}", check=True)  # no procps
    deadline = time.monotonic() + 10
    while True:
        rows = ps(container_name)
        left = [r for r in rows if r[3].strip() == "sleep 300" or r[1] == "Z"]
        if not left:
            break
        assert time.monotonic() < deadline, f"not reaped: {left}"
        time.sleep(0.3)
    assert all(r[1] != "Z" for r in rows), rows


@pytest.mark.timeout(120)
def test_read_only_root_with_tmpfs(image: str) -> None:
    # the image's pre-unpacked folder, no writable directory needed at all
    proc = podman(
        *RUN,
        "--read-only",
        "--read-only-tmpfs=false",
        "--entrypoint",
        "pinit",
        image,
        "--",
        "sh",
        "-c",
        "echo $PPID; exit 3",
    )
    assert (proc.returncode, proc.stdout.strip()) == (3, "1"), proc.stderr
    # the single file alone unpacks into a tmpfs (what `COPY` of only the binary gives)
    proc = podman(
        *RUN,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "-e",
        "PINIT_RUNTIME_DIR=/tmp/rt",
        "--entrypoint",
        "pinit",
        image,
        "--",
        "sh",
        "-c",
        "echo $PPID; ls /tmp/rt; exit 4",
    )
    lines = proc.stdout.split()
    assert proc.returncode == 4, proc.stderr
    assert lines[0] == "1" and lines[1].startswith("pinit-0"), lines


@pytest.mark.timeout(120)
def test_unwritable_runtime_dir_says_what_it_needs(image: str) -> None:
    proc = podman(
        *RUN,
        "--read-only",
        "--read-only-tmpfs=false",
        "-e",
        "PINIT_RUNTIME_DIR=/var/pinit-rt",
        "--entrypoint",
        "pinit",
        image,
        "--",
        "true",
    )
    assert proc.returncode == 1
    assert "cannot unpack into /var/pinit-rt/pinit-" in proc.stderr, proc.stderr
    assert "PINIT_RUNTIME_DIR" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --- with a config file (skipped while the image's pinit has no --config)

STOP_CONFIG = """
[pinit]
name = "ctest"
main = "app"
stop_timeout = "5s"

[programs.app]
command = ["sh", "-c", '''
  trap 'echo app stopping; exit 42' TERM; echo app up; while :; do sleep 0.1; done''']
restart = "never"

[programs.sidecar]
command = ["sh", "-c", '''
  trap 'echo sidecar stopping; exit 0' TERM; echo sidecar up; while :; do sleep 0.1; done''']
after = ["app"]
restart = "never"
"""

CRASH_CONFIG = """
[pinit]
name = "ctest"
main = "app"
stop_timeout = "3s"

[programs.app]
command = ["sleep", "1000"]

[programs.crasher]
command = ["sh", "-c", "sleep 1; exit 9"]
critical = true
restart = "never"
"""


def run_with_config(image: str, name: str, tmp_path: Path, text: str) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text(text)
    podman(
        "run",
        "-d",
        "--network=none",
        "--name",
        name,
        "-v",
        f"{conf}:/etc/pinit.toml:ro",
        image,
        check=True,
    )
    # no wait for "running": a container whose critical program crashes after 1 s may have
    # exited before a first `podman inspect` starts on a busy box; each test waits for its own
    # marker (a log line, `podman wait`)


@pytest.mark.timeout(120)
def test_stop_is_ordered_and_gives_mains_status(
    image: str, supports_config: bool, container_name: str, tmp_path: Path
) -> None:
    if not supports_config:
        pytest.skip("the image's pinit has no --config yet")
    run_with_config(image, container_name, tmp_path, STOP_CONFIG)
    deadline = time.monotonic() + 15
    while "sidecar up" not in podman("logs", container_name).stdout:
        assert time.monotonic() < deadline, podman("logs", container_name)
        time.sleep(0.2)
    started = time.monotonic()
    podman("stop", "-t", "20", container_name, check=True, timeout=60)
    took = time.monotonic() - started
    assert exit_code(container_name) == 42
    assert took < 10, f"stop took {took:.1f} s (stop_timeout 5 s each)"
    logs = podman("logs", container_name).stdout
    assert logs.index("sidecar stopping") < logs.index("app stopping"), logs


@pytest.mark.timeout(120)
def test_crashing_critical_program_ends_container_with_its_code(
    image: str, supports_config: bool, container_name: str, tmp_path: Path
) -> None:
    if not supports_config:
        pytest.skip("the image's pinit has no --config yet")
    run_with_config(image, container_name, tmp_path, CRASH_CONFIG)
    proc = podman("wait", container_name, timeout=60)
    assert proc.stdout.strip() == "9", (proc.stdout, podman("logs", container_name).stderr)


@pytest.mark.timeout(120)
def test_images_own_config_passes_check(image: str, supports_config: bool) -> None:
    """The image's ENTRYPOINT config must be runnable in that image (bookworm-slim has no
    python3, no web server: only coreutils, sh, grep, sed, awk...)."""
    if not supports_config:
        pytest.skip("the image's pinit has no --config yet")
    proc = podman(*RUN, "--entrypoint", "pinit", image, "check", "--config", "/etc/pinit.toml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.timeout(120)
def test_images_config_serves_metrics_and_probes(image: str, container_name: str) -> None:
    """The image's own config serves [pinit] http on 9100 (the Kubernetes example's scrape
    annotation): /readyz turns 200 once both programs are ready, /metrics parses as Prometheus
    text and says each program is up, from outside the container through a published port."""
    from prometheus_client.parser import text_string_to_metric_families

    podman("run", "-d", "--name", container_name, "-p", "127.0.0.1::9100", image, check=True)
    wait_running(container_name)
    port = podman("port", container_name, "9100/tcp", check=True).stdout.strip().rsplit(":", 1)
    base = f"http://127.0.0.1:{port[1]}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no http_proxy here
    deadline, status, body = time.monotonic() + 30, 0, ""
    while time.monotonic() < deadline and status != 200:
        try:
            with direct.open(base + "/readyz", timeout=5) as reply:
                status, body = reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:  # 503 until the sidecar is ready
            status, body = exc.code, exc.read().decode()
        except OSError:  # the port forwarder may answer before pinit listens
            pass
        if status != 200:
            time.sleep(0.1)
    assert status == 200, body
    with direct.open(base + "/metrics", timeout=5) as reply:
        text = reply.read().decode()
    up = {
        s.labels["program"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "pinit_program_up"
        for s in family.samples
    }
    assert up == {"app": 1.0, "sidecar": 1.0}
    podman("stop", "-t", "20", container_name, check=True, timeout=60)
    assert exit_code(container_name) == 0
