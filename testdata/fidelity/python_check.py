# Python's part: the locale, distutils and lib2to3 where the version's
# stdlib has them (3.11), and terminfo entries for curses and the REPL.
import curses
import locale
import os
import subprocess
import sys

failed = False


def check(ok, msg):
    global failed
    print(("ok   " if ok else "FAIL ") + msg)
    failed = failed or not ok


check(locale.setlocale(locale.LC_ALL, "") == "C.UTF-8", "setlocale(LC_ALL, '') = " + locale.setlocale(locale.LC_ALL))
if sys.version_info < (3, 12):
    import distutils.sysconfig
    import _distutils_system_mod
    check(hasattr(distutils.sysconfig, "get_python_lib"), "import distutils (%s)" % os.path.dirname(distutils.__file__))
    check(hasattr(_distutils_system_mod, "__file__"), "import _distutils_system_mod")
if sys.version_info < (3, 13):
    import lib2to3.pgen2.driver
    check(True, "import lib2to3 (%s)" % os.path.dirname(lib2to3.__file__))
# One process per terminal: curses sets a terminal up once per process.
probe = "import curses, sys; curses.setupterm(sys.argv[1], 1); print(curses.tigetnum('colors'), curses.tigetstr('clear') is not None)"
want_colors = {"xterm": 8, "xterm-256color": 256, "screen": 8, "screen-256color": 256, "tmux": 8,
               "tmux-256color": 256, "linux": 8, "vt100": -1, "dumb": -1}
for term, colors in want_colors.items():
    r = subprocess.run([sys.executable, "-c", probe, term], capture_output=True, text=True)
    got = r.stdout.split()
    ok = r.returncode == 0 and got[:1] == [str(colors)] and (term == "dumb" or got[1:] == ["True"])
    check(ok, "curses.setupterm(%r): colors, clear = %s %s" % (term, " ".join(got), r.stderr.strip()[-200:]))
r = subprocess.run([sys.executable, "-c", probe, "no-such-terminal"], capture_output=True, text=True)
err = (r.stderr.strip().splitlines() or [""])[-1]
check(r.returncode != 0 and "could not find terminal" in err, "setupterm of an unknown terminal fails: " + err)
if sys.version_info >= (3, 13):
    import _pyrepl.unix_console
    check(True, "import _pyrepl.unix_console")
if not failed:
    print("ALL OK")
sys.exit(1 if failed else 0)
