# The custom-image checks in python3: urllib with the default context,
# the C and Go clients (run from here: the image has no shell), the user
# and its home, and a legacy zone name. Prints one line per check.
import getpass, json, os, subprocess, sys, urllib.request, zoneinfo

url, port, bins = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    body = urllib.request.urlopen(url, timeout=20).read().decode()
    print("ok   python:", body)
except Exception as e:
    print("FAIL python:", e)
for cmd in ([bins + "/tlsget-c", port], [bins + "/tlsget-go", url]):
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"} if cmd[0].endswith("-c") else os.environ
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    print((r.stdout or r.stderr).strip())
# OpenSSL's hash directory alone: its default file made a missing one.
env = dict(os.environ, SSL_CERT_FILE="/nonexistent")
r = subprocess.run([bins + "/tlsget-c", port], capture_output=True, text=True, env=env)
print((r.stdout or r.stderr).strip().replace(" c: ", " c-hashdir: ", 1))
# The control: a directory holding the CA (bins has ca.pem) but no hash
# links is not searched by name, so this one fails.
env = dict(os.environ, SSL_CERT_FILE="/nonexistent", SSL_CERT_DIR=bins)
r = subprocess.run([bins + "/tlsget-c", port], capture_output=True, text=True, env=env)
print((r.stdout or r.stderr).strip().replace(" c: ", " c-nohash: ", 1))
try:
    print("user=" + getpass.getuser())
except Exception as e:
    print("user FAIL", e)
print("home=" + os.path.expanduser("~"))
try:
    print("zone=" + str(zoneinfo.ZoneInfo("US/Eastern")))
except Exception as e:
    print("zone FAIL", type(e).__name__)
