#!/usr/bin/env python3
"""The journal catalog against daemon/log.h: one entry per MESSAGE_ID the
daemon defines, none for an ID it does not, each with the fields journalctl -x
shows; and journalctl itself takes the file (--update-catalog into a root of
its own, then --list-catalog). TAP on stdout.
    check-catalog.py SOURCEDIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

src = sys.argv[1]
catalog = os.path.join(src, "systemd", "unixsockd.catalog")
n = 0
failed = 0


def check(ok, name, why=""):
    global n, failed
    n += 1
    if not ok:
        failed += 1
        print(f"not ok {n} - {name}")
        for line in why.splitlines():
            print(f"# {line}")
    else:
        print(f"ok {n} - {name}")


with open(os.path.join(src, "daemon", "log.h")) as f:
    ids = {m.group(1): m.group(2).lower()
           for m in re.finditer(r'^\s*#\s*define\s+(MSGID_\w+)\s+"([0-9a-fA-F]{32})"', f.read(), re.M)}
with open(catalog) as f:
    text = f.read()

# entries: "-- ID" then header lines up to the first empty line, then the body
entries = {}
for m in re.finditer(r"^-- ([0-9a-f]{32})\n(.*?)(?=^-- |\Z)", text, re.M | re.S):
    head, _, body = m.group(2).partition("\n\n")
    fields = dict(l.split(": ", 1) for l in head.splitlines() if ": " in l)
    entries.setdefault(m.group(1), []).append((fields, body.strip()))

check(len(ids) >= 8, f"daemon/log.h defines the MESSAGE_IDs ({len(ids)})")
for macro, i in sorted(ids.items()):
    e = entries.get(i, [])
    check(len(e) == 1, f"{macro} ({i}) has one catalog entry", f"{len(e)} entries")
    if len(e) != 1:
        continue
    fields, body = e[0]
    check(fields.get("Subject") and fields.get("Defined-By") == "unixsockd" and fields.get("Support")
          and "man:unixsockd" in fields.get("Documentation", "") and len(body) > 100,
          f"{macro}: Subject, Defined-By: unixsockd, Support, Documentation and a body", repr(fields))
stray = sorted(set(entries) - set(ids.values()))
check(not stray, "every catalog entry is a MESSAGE_ID of daemon/log.h", " ".join(stray))

journalctl = shutil.which("journalctl")
if not journalctl:
    print(f"ok {n + 1} - journalctl takes the catalog # SKIP no journalctl")
    n += 1
else:
    with tempfile.TemporaryDirectory() as root:
        d = os.path.join(root, "usr", "lib", "systemd", "catalog")
        os.makedirs(d)
        os.makedirs(os.path.join(root, "var", "lib", "systemd", "catalog"))
        shutil.copy(catalog, d)
        env = dict(os.environ, SYSTEMD_PAGER="", SYSTEMD_COLORS="0")
        u = subprocess.run([journalctl, f"--root={root}", "--update-catalog"], capture_output=True, text=True,
                           env=env, timeout=60)
        check(u.returncode == 0 and not u.stderr.strip(), "journalctl --update-catalog takes it without a word",
              u.stderr)
        listed = subprocess.run([journalctl, f"--root={root}", "--list-catalog"], capture_output=True, text=True,
                                env=env, timeout=60).stdout
        got = {l.split()[0] for l in listed.splitlines() if l.strip()}
        check(got == set(ids.values()), "journalctl --list-catalog lists every MESSAGE_ID of the daemon",
              listed)
print(f"1..{n}")
sys.exit(1 if failed else 0)
