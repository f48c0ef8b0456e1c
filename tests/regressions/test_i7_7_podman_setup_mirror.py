"""Issue 7, item 7: scripts/podman-setup fell back to a hard-coded Debian mirror host.

It must take the mirror from the machine's own apt configuration, or fail naming the files
it read. `--print-mirror` runs only that lookup (no root, no podman), against PINIT_APT_DIR.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "podman-setup"


def _mirror(apt_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "--print-mirror"],
        env={"PATH": "/usr/bin:/bin", "PINIT_APT_DIR": str(apt_dir)},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_no_host_name_in_the_script() -> None:
    urls = re.findall(r"[a-z]+://[A-Za-z0-9.-]+", SCRIPT.read_text())
    assert urls == []


def test_deb822_source_for_bookworm_is_used(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb-src deb\n# a comment\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n"
    )
    done = _mirror(tmp_path)
    assert (done.returncode, done.stdout) == (0, "http://mirror.example/debian\n")


def test_one_line_source_with_options(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    )
    done = _mirror(tmp_path)
    assert (done.returncode, done.stdout) == (0, "http://mirror.example/debian\n")


def test_disabled_stanza_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "a.sources").write_text(
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n"
    )
    (tmp_path / "sources.list.d" / "b.list").write_text(
        "deb http://on.example/debian bookworm main\n"
    )
    assert _mirror(tmp_path).stdout == "http://on.example/debian\n"


def test_no_source_fails_naming_the_files_read(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://other.example/ubuntu jammy main\n")
    done = _mirror(tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"found in {tmp_path}/sources.list;" in done.stderr


def test_no_apt_files_at_all(tmp_path: Path) -> None:
    done = _mirror(tmp_path)
    assert done.returncode == 1
    assert f"{tmp_path}/sources.list.d/*.sources" in done.stderr
    assert "(none exist)" in done.stderr
