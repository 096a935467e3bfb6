#!/usr/bin/env bash
# Start-up cost of the python images with and without their bytecode.
#
#   scripts/pyimport-bench.sh [PROFILE [DISTRO [RUNS]]]    (python3 debian:trixie 20)
#
# Builds PROFILE with this tree's gen, then in one `podman run --read-only`
# (the default nonroot user: nobody can write __pycache__) times RUNS runs
# of `python -c pass` and of importing a typical program's standard
# library set, each as the image is (bytecode) and with
# PYTHONPYCACHEPREFIX pointing at a directory that does not exist and
# cannot be made, which is what an image without bytecode does: compile
# every module it imports, every time. Times are medians of wall-clock
# process times, measured inside the container (podman's own start-up is
# not counted). PODMAN overrides the podman command (e.g. "podman --runtime runc").
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-python3}
distro=${2:-debian:trixie}
runs=${3:-20}
podman=${PODMAN:-podman}
# podman names an image pulled from oci:DIR after DIR, which must be lowercase.
tmp=${TMPDIR:-/tmp}/pyimport-bench-$$
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/distroless" ./cmd/distroless
"$tmp/distroless" gen "$profile" --distro "$distro" -o "oci:$tmp/img:bench" >/dev/null 2>&1
id=$($podman pull -q "oci:$tmp/img:bench")
trap '$podman rmi -f "$id" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

$podman run --rm --read-only --network=none "$id" -c '
import os, statistics, subprocess, sys, time
runs = int(sys.argv[1])
imports = "import asyncio, json, email, http.client, ssl, sqlite3, decimal, logging, argparse, typing, dataclasses, urllib.request"
def median_ms(code, env):
    times = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:]) * 1000
base = dict(os.environ)
nobc = dict(base, PYTHONPYCACHEPREFIX="/nonexistent/pycache")
print(f"python {sys.version.split()[0]}, {runs} runs each, median wall time")
print("| | with bytecode | without |")
print("|---|---|---|")
for name, code in (("`python -c pass`", "pass"), ("import set", imports)):
    print(f"| {name} | {median_ms(code, base):.0f} ms | {median_ms(code, nobc):.0f} ms |")
' "$runs"
