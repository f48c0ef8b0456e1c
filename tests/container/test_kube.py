"""Issue 8: examples/kubernetes.yaml run for real by `podman kube play` with the built image.

podman turns the pod's livenessProbe into a container health check (`pinit ctl health`), run
here by `podman healthcheck run` (podman schedules it with systemd timers, and this machine
has no systemd). What Debian's podman 4.3 cannot run of the manifest, and what stands in:

* a ConfigMap key mounted by ``subPath`` as a file: the config mount is dropped, and the
  image's own /etc/pinit.toml is the same file (test_examples checks the ConfigMap is
  examples/container.toml verbatim, and the Containerfile copies that file);
* ``readinessProbe``: ignored (only the liveness probe becomes a health check); its command
  is run with `podman exec`, as the kubelet would;
* ``terminationGracePeriodSeconds``: not taken as the stop timeout, and `podman kube down`
  SIGKILLs at once (podman #22397, fixed in 5.1): the pod is stopped first with
  `podman pod stop -t GRACE`, the workaround podman's own issue #21767 gives;
* a ``containerPort`` without ``hostPort`` would be published on the host: dropped.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, podman

pytestmark = pytest.mark.container

yaml = pytest.importorskip("yaml", reason="PyYAML missing: pip install -e '.[dev]'")


def _manifest(image_id: str, name: str) -> tuple[str, dict[str, object]]:
    docs = [d for d in yaml.safe_load_all((ROOT / "examples" / "kubernetes.yaml").read_text())]
    dep = next(d for d in docs if d and d["kind"] == "Deployment")
    dep["metadata"]["name"] = name
    spec = dep["spec"]["template"]["spec"]
    container = spec["containers"][0]
    container["image"] = image_id  # the build's own id: another build may retag the name
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "config"]
    container.pop("ports", None)
    # podman fails a health check run that outlasts the probe's timeout (3 s): an exec and a
    # cold `pinit ctl` on a busy box may, and a timeout is not what this test is about
    container["livenessProbe"]["timeoutSeconds"] = 30
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "config"]
    return yaml.safe_dump(dep), spec


@pytest.fixture
def pod(image: str, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, object]]]:
    image_id = podman("image", "inspect", image, "--format", "{{.Id}}", check=True).stdout
    name = f"pinit-kube-{uuid.uuid4().hex[:8]}"
    text, spec = _manifest(image_id.strip(), name)
    path = tmp_path / "kube.yaml"
    path.write_text(text)
    podman("kube", "play", str(path), check=True, timeout=120)
    try:
        yield f"{name}-pod-0", f"{name}-pod-0-pinit", spec
    finally:
        podman("pod", "rm", "-f", "-t", "0", f"{name}-pod-0", timeout=60)


def _ctl(ctr: str, *args: str) -> tuple[int, str]:
    proc = podman("exec", ctr, "pinit", "ctl", *args, timeout=30)
    return proc.returncode, proc.stdout.strip() + proc.stderr.strip()


def _status(ctr: str) -> dict[str, dict[str, object]]:
    rc, out = _ctl(ctr, "status", "--json")
    assert rc == 0, out
    return {i["name"]: i for i in json.loads(out)["instances"]}


def _until(what: str, check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.timeout(900)  # a cold image build
def test_kube_play_probes_restart_and_stop(pod: tuple[str, str, dict[str, object]]) -> None:
    pod_name, ctr, spec = pod
    container = spec["containers"][0]  # type: ignore[index]
    check = podman("inspect", ctr, "--format", "{{json .Config.Healthcheck}}", check=True)
    assert "health" in json.loads(check.stdout)["Test"]  # the livenessProbe, as podman took it

    def ready() -> bool:
        return _ctl(ctr, *container["readinessProbe"]["exec"]["command"][2:])[0] == 0

    _until("readiness: pinit ctl health --ready never passed", ready)
    assert podman("healthcheck", "run", ctr).returncode == 0
    health = podman("inspect", ctr, "--format", "{{.State.Health.Status}}", check=True)
    assert health.stdout.strip() == "healthy"

    # an operator stop of the main program: the probe fails and says who and why
    _ctl(ctr, "stop", "app")  # replies once the stop is sent: STOPPED comes with the reaping
    _until("app never stopped", lambda: _ctl(ctr, "health") == (1, "app: STOPPED (by request)"))
    assert podman("healthcheck", "run", ctr).returncode == 1
    _ctl(ctr, "start", "app")
    _until("app never came back", lambda: _ctl(ctr, "health")[0] == 0)

    # a killed program comes back (pinit restarts it), and the pod is healthy again
    before = _status(ctr)["sidecar"]
    assert isinstance(before["pid"], int)
    podman("exec", ctr, "sh", "-c", f"kill -KILL {before['pid']}", check=True)

    def restarted() -> bool:
        now = _status(ctr)["sidecar"]
        return now["state"] == "running" and now["pid"] not in (None, before["pid"])

    _until("sidecar never restarted", restarted)
    assert _status(ctr)["sidecar"]["restarts"] == int(before["restarts"]) + 1  # type: ignore[call-overload]
    assert podman("healthcheck", "run", ctr).returncode == 0

    # stop within the grace period, with exit 0 (pinit's ordered stop of a healthy pod)
    grace = int(spec["terminationGracePeriodSeconds"])  # type: ignore[call-overload]
    started = time.monotonic()
    podman("pod", "stop", "-t", str(grace), pod_name, check=True, timeout=grace + 30)
    took = time.monotonic() - started
    assert took < grace, took
    code = podman("inspect", ctr, "--format", "{{.State.ExitCode}}", check=True).stdout
    logs = podman("logs", ctr).stderr
    assert int(code) == 0, logs
    assert "all programs stopped; exiting with 0" in logs
