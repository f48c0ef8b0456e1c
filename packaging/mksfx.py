"""Pack a PyInstaller one-folder build behind the launcher: the single-file dist/pinit.

usage: python mksfx.py LAUNCHER ONEDIR VERSION OUT

The format is described in launcher.c.  The payload is deterministic (sorted paths, fixed
compression level, no timestamps), so the same build gives the same id and cache dir.
"""

import hashlib
import os
import struct
import sys
import zlib


def records(root: str):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir != ".":
            yield b"d", 0o755, rel_dir, b"", 0
        for name in sorted(
            filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        ):
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(full):
                target = os.readlink(full).encode()
                yield b"l", 0o777, rel, target, len(target)
            else:
                with open(full, "rb") as f:
                    data = f.read()
                mode = 0o755 if os.stat(full).st_mode & 0o111 else 0o644
                yield b"f", mode, rel, zlib.compress(data, 9), len(data)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]


def main() -> None:
    launcher, onedir, version, out = sys.argv[1:5]
    if not os.path.isfile(os.path.join(onedir, "pinit")):
        sys.exit(f"mksfx: {onedir}/pinit not found")
    payload = bytearray()
    for kind, mode, rel, stored, raw in records(onedir):
        path = rel.encode()
        payload += kind + struct.pack("<IHQQ", mode, len(path), raw, len(stored)) + path + stored
    payload += b"e" + bytes(30)
    digest = hashlib.sha256(payload).hexdigest()[:16]
    ident = f"{version}-{digest}".encode()
    if len(ident) >= 40:
        sys.exit(f"mksfx: id too long: {ident!r}")
    with open(launcher, "rb") as f:
        head = f.read()
    trailer = b"PINITSFX" + struct.pack("<QQ", len(head), len(payload)) + ident.ljust(40, b"\0")
    assert len(trailer) == 64
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head + payload + trailer)
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    print(f"mksfx: {out}: {len(head) + len(payload) + 64} bytes, id {ident.decode()}")


if __name__ == "__main__":
    main()
