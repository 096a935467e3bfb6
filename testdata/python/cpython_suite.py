"""Run CPython's regression tests (Debian's libpython3.X-testsuite) and
report one status per test module.

Run with the interpreter under test, as `python -c "$(cat this)" ARGS`
(images have no shell, so the program is passed as -c):

    ARGS: [-jN] [-i PATTERN]... [--all] MODULE...

--all runs every module the test package finds (MODULEs are ignored).
-i PATTERN is regrtest's --ignore: test cases matching it do not run.
The last line printed is "RESULT " and a JSON object mapping each module
to ok, failed, skipped, resource_denied, env_changed, no_tests, omitted,
timeout or crashed. regrtest's own output goes to stderr.
"""
import json
import os
import re
import subprocess
import sys

args = sys.argv[1:]
jobs = "-j2"
run_all = False
mods = []
ignore = []
it = iter(args)
for a in it:
    if a.startswith("-j"):
        jobs = a
    elif a == "-i":
        ignore += ["-i", next(it)]
    elif a == "--all":
        run_all = True
    else:
        mods.append(a)

if run_all:
    try:
        from test.libregrtest.findtests import findtests  # 3.13
    except ImportError:
        from test.libregrtest.runtest import findtests  # 3.11
    mods = sorted(findtests())

cmd = [sys.executable, "-m", "test", jobs, "--timeout=900", "--fail-env-changed"] + ignore + mods
proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
out = proc.stdout.decode("utf-8", "replace")
sys.stderr.write(out)

# The summary regrtest ends with: "N tests failed:" and friends, each
# followed by indented lines of module names.
kinds = [
    ("failed again", "failed"),
    ("failed", "failed"),
    ("skipped (resource denied)", "resource_denied"),
    ("skipped", "skipped"),
    ("altered the execution environment", "env_changed"),
    ("run no tests", "no_tests"),
    ("omitted", "omitted"),
    ("timed out", "timeout"),
    ("timeout", "timeout"),
    ("interrupted", "crashed"),
    ("crashed", "crashed"),
]
status = {}
summary = out.rfind("== Tests result")
head = re.compile(r"^(?:All )?(\d+) (?:tests?|re-run tests?) (.*):$")
cur = None
if summary >= 0:
    for line in out[summary:].splitlines():
        m = head.match(line.strip()) if not line.startswith(" ") else None
        if m:
            what = m.group(2)
            cur = None
            if "re-run" in line.split(":")[0] and "failed" not in what:
                continue  # "N re-run tests:" lists what was run twice
            for key, kind in kinds:
                if what.startswith(key):
                    cur = kind
                    break
            continue
        if line.startswith("    ") and cur:
            for name in line.split():
                # a failed module keeps its status over a later listing
                if status.get(name) not in ("failed", "crashed", "timeout"):
                    status[name] = cur
            continue
        if not line.strip():
            cur = None
for m in mods:
    if m not in status:
        # Not listed: passed, unless regrtest never got to a summary.
        status[m] = "ok" if summary >= 0 else "crashed"
# Sub-module results (test_asyncio.test_x) stay as regrtest names them.
print("RESULT " + json.dumps(status, sort_keys=True))
