#!/usr/bin/env python3
"""Counts the test cases of a meson run from the TAP each test printed, and
prints the closing line 'N passed, N failed, N skipped'. Exit 1 if any failed."""
import json
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        cases = 0
        for l in t.get("stdout", "").splitlines():
            if l.startswith("ok "):
                cases += 1
                if "# SKIP" in l:
                    skipped += 1
                else:
                    passed += 1
            elif l.startswith("not ok "):
                cases += 1
                failed += 1
        if cases == 0:
            # a test that printed no TAP counts as one case, by its result
            if t["result"] == "OK":
                passed += 1
            elif t["result"] == "SKIP":
                skipped += 1
            else:
                failed += 1
        elif t["result"] not in ("OK", "SKIP") and not failed:
            failed += 1  # crashed after its last TAP line
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
