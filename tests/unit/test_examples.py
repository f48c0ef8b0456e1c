"""Every example config passes `pinit check`'s gate and the JSON Schema (with the real taplo
CLI), and examples/kubernetes.yaml is a valid manifest whose grace period covers pinit's stop."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pinit.checkcmd import worst_case_stop
from pinit.config.load import load_text
from pinit.config.resolve import load_checked

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "pinit.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
K8S = ROOT / "examples" / "kubernetes.yaml"
K8S_VERSION = "1.30.0"


def test_there_are_examples() -> None:
    assert {p.name for p in EXAMPLES} >= {"pinit.toml", "container.toml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_pinit_check(path: Path) -> None:
    """load_checked is what `pinit check` runs: load + check_host (users, PATH, directories)."""
    config, errors = load_checked(str(path), os.environ)
    assert errors == []
    assert config is not None and config.programs


def _taplo() -> str:
    found = shutil.which("taplo", path=os.path.dirname(sys.executable)) or shutil.which("taplo")
    if found is None:
        pytest.skip("taplo CLI missing: pip install -e '.[dev]' (PyPI package taplo)")
    return found


def taplo_check(path: Path) -> subprocess.CompletedProcess[str]:
    quiet = ["--no-auto-config", "--colors", "never"]
    argv = [_taplo(), "check", *quiet, "--schema", SCHEMA.as_uri(), str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_the_json_schema_in_taplo(path: Path) -> None:
    result = taplo_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[programs.web]\ncommand = ["x"]\nstop_timout = "5s"\n', "stop_timout"),
        ('[programs.web]\ncommand = ["x"]\nnumprocs = "two"\n', "integer"),
        ('[programs.web]\ncommand = ["x"]\nrestart = "sometimes"\n', "sometimes"),
        ('[programs.web]\ncommand = ["x"]\nstop_timeout = "10 sec"\n', "10 sec"),
        (
            '[programs.web]\ncommand = ["x"]\nbackoff = { initial = "1s", maximum = "5s" }\n',
            "maximum",
        ),
        ('[programs.web]\ncommand = ["x"]\nready = { tcp = "h:1", http = "http://h/" }\n', "ready"),
        ('[programs.web]\nuser = "nobody"\n', "command"),
        ('[pinit]\nonfatal = "ignore"\n', "onfatal"),
    ],
)
def test_taplo_refuses_what_pinit_refuses(tmp_path: Path, text: str, complaint: str) -> None:
    bad = tmp_path / "pinit.toml"
    bad.write_text(text)
    config, errors = load_text(text, str(bad), {})
    assert config is None and errors  # pinit's own loader refuses it too
    result = taplo_check(bad)
    assert result.returncode != 0
    assert complaint in result.stdout + result.stderr


def _k8s_docs() -> list[dict[str, object]]:
    yaml = pytest.importorskip("yaml", reason="PyYAML missing: pip install -e '.[dev]'")
    return [d for d in yaml.safe_load_all(K8S.read_text()) if d]


def _kind(kind: str) -> dict[str, object]:
    docs = [d for d in _k8s_docs() if d["kind"] == kind]
    assert len(docs) == 1
    return docs[0]


def test_kubernetes_configmap_is_examples_container_toml() -> None:
    data = _kind("ConfigMap")["data"]
    assert isinstance(data, dict)
    assert data["pinit.toml"] == (ROOT / "examples" / "container.toml").read_text()


def test_kubernetes_grace_period_covers_pinits_stop_budget() -> None:
    text = (ROOT / "examples" / "container.toml").read_text()
    config, errors = load_text(text, str(ROOT / "examples" / "container.toml"), {})
    assert config is not None, errors
    budget = worst_case_stop(config)  # what `pinit check --explain` prints, sweep included
    spec = _kind("Deployment")["spec"]["template"]["spec"]  # type: ignore[index]
    assert spec["terminationGracePeriodSeconds"] > budget
    assert budget <= config.stop_budget < spec["terminationGracePeriodSeconds"]
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/pinit.toml"]["subPath"] == "pinit.toml"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert "livenessProbe" in container and "readinessProbe" in container
    assert container["image"].endswith("pinit:latest")
    assert "command" not in container  # the image's ENTRYPOINT: pinit --config /etc/pinit.toml


def test_kubernetes_probes_ask_pinit_and_prometheus_is_told() -> None:
    """Issue 8: exec probes run `pinit ctl health`; the pod carries the scrape annotations."""
    template = _kind("Deployment")["spec"]["template"]  # type: ignore[index]
    container = template["spec"]["containers"][0]
    assert container["livenessProbe"]["exec"]["command"] == ["pinit", "ctl", "health"]
    assert container["readinessProbe"]["exec"]["command"] == ["pinit", "ctl", "health", "--ready"]
    notes = template["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true"
    assert notes["prometheus.io/path"] == "/metrics"
    assert int(notes["prometheus.io/port"]) == container["ports"][0]["containerPort"]


def test_kubernetes_manifest_is_valid() -> None:
    kv = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate missing: pip install -e '.[dev]'"
    )
    docs = _k8s_docs()
    assert [d["kind"] for d in docs] == ["ConfigMap", "Deployment"]
    for doc in docs:
        kv.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError


def test_kubernetes_validate_can_tell() -> None:
    kv = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate missing: pip install -e '.[dev]'"
    )
    doc = _kind("Deployment")
    doc["spec"]["template"]["spec"]["terminationGracePeriod"] = 20  # type: ignore[index]
    with pytest.raises(kv.ValidationError):
        kv.validate(doc, K8S_VERSION, strict=True)
