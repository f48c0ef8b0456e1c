"""A client that issues HTTP requests one after another until a file appears (issue 9).

  http_client.py PORT STOPFILE

Prints "go" once the first request succeeded, then, when STOPFILE exists, one JSON line:
{"ok": N, "failed": M, "errors": [...first few...], "pids": [...], "versions": [...]}.
Each request is a new connection (HTTP/1.0), so every one of them is routed by the kernel
to one of the listeners sharing the port.
"""

from __future__ import annotations

import http.client
import json
import os
import sys


def main() -> None:
    port, stop = int(sys.argv[1]), sys.argv[2]
    ok = failed = 0
    errors: list[str] = []
    pids: set[str] = set()
    versions: set[str] = set()
    told = False
    while not os.path.exists(stop):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read().decode()
            if resp.status != 200:
                raise OSError(f"status {resp.status}")
            pid, version = body.split()
            pids.add(pid)
            versions.add(version)
            ok += 1
            if not told:
                print("go", flush=True)
                told = True
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failed += 1
            if len(errors) < 10:
                errors.append(repr(exc))
        finally:
            conn.close()
    result = {
        "ok": ok,
        "failed": failed,
        "errors": errors,
        "pids": sorted(pids),
        "versions": sorted(versions),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
