"""Regression (issue 8 review): `pinit ctl health --timeout inf` (or 1e300) died with a
traceback in the client (OverflowError / struct.error packing SO_RCVTIMEO) and exit 1, which
an exec probe reads as "unhealthy". A timeout beyond an hour is now a usage error (exit 2).
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import pinit_bin


@pytest.mark.parametrize("value", ["inf", "1e300", "nan", "0"])
def test_health_timeout_out_of_range_is_a_usage_error(value: str) -> None:
    proc = subprocess.run(
        [*pinit_bin(), "ctl", "--socket", "/nonexistent/ctl.sock", "health", "--timeout", value],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "--timeout" in proc.stderr, proc.stderr
