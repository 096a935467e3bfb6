#!/usr/bin/env bash
# Compares the resolver's full closures (--no-prune) with apt's own solver
# on Debian trixie: a seeded random sample of trixie main plus the root
# packages of every built-in profile. apt runs as the calling user in a
# private directory (its own sources, lists and an empty dpkg status; no
# recommends), on the mirrors of the host's apt sources, read at run time;
# both sides see trixie, trixie-updates and trixie-security, main.
# For every package it checks that our closure's installed size is no
# larger than apt's, and lists each difference of the package sets with
# its reason (our choice and each candidate's added size, from
# resolve --json). Exit status 1 when a closure of ours is larger, or when
# we fail where apt succeeds.
# Usage: scripts/apt-oracle.sh [SAMPLE_SIZE [SEED]]   (default 300, 20)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
seed=${2:-20}
for tool in apt-get python3 openssl shuf; do
  command -v "$tool" >/dev/null || { echo "apt-oracle: $tool is needed" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$work/distroless
go build -o "$bin" ./cmd/distroless

# The mirrors of the host's apt sources: the archive (a suite without
# -security) and the security archive.
read -r mirror security < <(python3 - <<'PY'
import glob, os, re
archive = security = ""
def take(uri, suites):
    global archive, security
    uri = uri.rstrip("/")
    for s in suites:
        if s.endswith("-security"):
            security = security or uri
        else:
            archive = archive or uri
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
for f in files:
    if not os.path.exists(f):
        continue
    for line in open(f):
        line = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
        if len(line) >= 3 and line[0] == "deb":
            take(line[1], [line[2]])
for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in open(f).read().split("\n\n"):
        fields = {}
        for l in stanza.splitlines():
            if l.startswith("#") or ":" not in l:
                continue
            k, v = l.split(":", 1)
            fields[k.strip().lower()] = v.split()
        if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"])[0] != "no":
            for u in fields.get("uris", []):
                take(u, fields.get("suites", []))
print(archive or "-", security or "-")
PY
)
if [ "$mirror" = - ]; then
  echo "apt-oracle: no Debian archive in the host's apt sources" >&2
  exit 1
fi
[ "$security" = - ] && security=${mirror%/debian}/debian-security

apt=$work/apt
mkdir -p "$apt"/etc/apt/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d} "$apt"/var/lib/apt/lists/partial \
  "$apt"/var/cache/apt/archives/partial "$apt"/var/lib/dpkg
: >"$apt/var/lib/dpkg/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt/etc/apt/sources.list" <<EOF
deb [signed-by=$keyring] $mirror trixie main
deb [signed-by=$keyring] $mirror trixie-updates main
deb [signed-by=$keyring] $security trixie-security main
EOF
cat >"$apt/apt.conf" <<EOF
Dir "$apt/";
Dir::State::status "$apt/var/lib/dpkg/status";
Dir::Etc "$apt/etc/apt/";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Debug::NoLocking "true";
Acquire::Languages "none";
EOF
export APT_CONFIG=$apt/apt.conf
apt-get -q update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }

# The sample: every package name of trixie main, shuffled by the seed.
cat "$apt"/var/lib/apt/lists/*_dists_trixie_main_binary-amd64_Packages |
  sed -n 's/^Package: //p' | sort -u >"$work/names"
shuf -n "$n" --random-source=<(openssl enc -aes-256-ctr -pass "pass:$seed" -nosalt </dev/zero 2>/dev/null) \
  "$work/names" | sort >"$work/sample"
# The roots of every built-in profile on trixie (packages whose chain is
# themselves).
for p in static base cc python3 python3.13 nodejs java-base java21 java25; do
  "$bin" resolve "$p" --distro debian:trixie --mirror "$mirror" --security-mirror "$security" --json
done | python3 -c '
import json, sys
dec, s = json.JSONDecoder(), sys.stdin.read()
i = 0
while i < len(s):
    if s[i].isspace():
        i += 1; continue
    d, i = dec.raw_decode(s, i)
    for p in d["packages"]:
        if len(p["why"]) == 1: print(p["name"])
' | sort -u >"$work/roots"

export BIN=$bin MIRROR=$mirror SECURITY=$security WORK=$work
python3 - "$work/sample" "$work/roots" "$seed" <<'PY'
import concurrent.futures, glob, json, os, re, subprocess, sys

sample = open(sys.argv[1]).read().split()
roots = open(sys.argv[2]).read().split()
seed = sys.argv[3]
work = os.environ["WORK"]

# Installed sizes by name and version, from apt's lists.
size = {}
for f in glob.glob(os.path.join(work, "apt/var/lib/apt/lists/*_Packages")):
    for st in open(f, encoding="utf-8", errors="replace").read().split("\n\n"):
        fl = dict(re.findall(r"^([A-Za-z-]+): *(.*)$", st, re.M))
        if "Package" in fl:
            size[(fl["Package"], fl.get("Version", ""))] = int(fl.get("Installed-Size", "0") or 0) * 1024

def apt(pkg):
    r = subprocess.run(["apt-get", "install", "-s", "-q", pkg], capture_output=True, text=True)
    if r.returncode != 0:
        return None, (r.stdout + r.stderr).strip().splitlines()[-3:]
    got = {}
    for m in re.finditer(r"^Inst (\S+) (?:\[\S+\] )?\((\S+)", r.stdout, re.M):
        got[m.group(1).split(":")[0]] = m.group(2)
    return got, None

def ours(pkg):
    prof = os.path.join(work, "p-" + pkg + ".yaml")
    with open(prof, "w") as f:
        f.write("name: oracle\npackages:\n  - %s\n" % pkg)
    r = subprocess.run([os.environ["BIN"], "resolve", "-f", prof, "--no-prune", "--distro", "debian:trixie",
                        "--mirror", os.environ["MIRROR"], "--security-mirror", os.environ["SECURITY"], "--json"],
                       capture_output=True, text=True)
    os.remove(prof)
    if r.returncode != 0:
        return None, None, r.stderr.strip()
    d = json.loads(r.stdout)
    return {p["name"]: p["version"] for p in d["packages"]}, d["choices"], None

def one(pkg):
    a, aerr = apt(pkg)
    o, choices, oerr = ours(pkg)
    return pkg, a, aerr, o, choices, oerr

def kib(n):
    return "%d KiB" % (n // 1024)

def reasons(only_ours, only_apt, o, choices):
    out = []
    for c in choices:
        names = {x["name"]: x for x in c["options"]}
        took = names.get(c["chosen"])
        alts = [x for x in c["options"] if x["name"] in only_apt]
        if c["chosen"] in only_ours or alts:
            if not alts:
                continue
            desc = ", ".join("%s +%s" % (x["name"], kib(x["added_installed_size"])) + (" (%s)" % x["rejected"] if x.get("rejected") else "") for x in alts)
            out.append("for `%s` (required by %s) we took %s +%s, apt %s" % (
                c["dep"], c["required_by"][-1] if c["required_by"] else "the root", c["chosen"],
                kib(took["added_installed_size"]) if took else "?", desc))
    return out

results = []
with concurrent.futures.ThreadPoolExecutor(2) as ex:
    for r in ex.map(one, sorted(set(sample) | set(roots))):
        results.append(r)

same = smaller = larger = both_fail = apt_fail = our_fail = 0
lines, bad = [], []
for pkg, a, aerr, o, choices, oerr in results:
    tag = " (profile root)" if pkg in roots else ""
    if a is None and o is None:
        both_fail += 1
        lines.append("- `%s`%s: neither resolves (apt: %s)" % (pkg, tag, " ".join(aerr)))
        continue
    if a is None:
        apt_fail += 1
        lines.append("- `%s`%s: apt fails (%s); ours resolves (%d packages)" % (pkg, tag, " ".join(aerr), len(o)))
        continue
    if o is None:
        our_fail += 1
        bad.append("- `%s`%s: apt resolves, ours fails: %s" % (pkg, tag, oerr))
        continue
    sa = sum(size.get((k, v), 0) for k, v in a.items())
    so = sum(size.get((k, v), 0) for k, v in o.items())
    if set(a.items()) == set(o.items()):
        same += 1
        continue
    only_o = sorted(set(o) - set(a))
    only_a = sorted(set(a) - set(o))
    vers = sorted(k for k in set(a) & set(o) if a[k] != o[k])
    why = reasons(set(only_o), set(only_a), o, choices)
    if not why and only_a and not only_o:
        why = ["apt's extra packages meet requirements ours meets already (alternatives or Provides of packages both have)"]
    line = "- `%s`%s: ours %s, apt %s (%+d KiB); only ours: %s; only apt: %s%s%s" % (
        pkg, tag, kib(so), kib(sa), (so - sa) // 1024, " ".join(only_o) or "-", " ".join(only_a) or "-",
        ("; versions differ: " + " ".join(vers)) if vers else "", ("; " + "; ".join(why)) if why else "")
    if so > sa:
        larger += 1
        bad.append(line)
    else:
        smaller += 1
        lines.append(line)

print("apt oracle: %d packages (%d sampled from %d trixie main names with seed %s, %d profile roots)" % (
    len(results), len(sample), sum(1 for _ in open(os.path.join(work, "names"))), seed, len(roots)))
print("identical: %d; ours smaller: %d; ours larger: %d; apt fails, ours resolves: %d; both fail: %d; ours fails, apt resolves: %d" % (
    same, smaller, larger, apt_fail, both_fail, our_fail))
if bad:
    print("\nFAILURES:")
    print("\n".join(bad))
print("\nDifferences:")
print("\n".join(lines) if lines else "(none)")
sys.exit(1 if bad else 0)
PY
