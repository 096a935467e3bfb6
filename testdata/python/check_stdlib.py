"""Checks a distroless Python image from the inside.

The image has no shell, so this file is run as the program text of
`python3 -c` (it needs neither __file__ nor arguments). It

  * imports every module of the standard library the image has, found by
    walking the stdlib directory and lib-dynload (submodules of packages
    included), and cross-checks the walk against sys.stdlib_module_names;
  * exercises what a stripped-down image most easily gets wrong: the CA
    store, sqlite3, compression, hashes, ctypes, time zones, UTF-8 file
    names, the user and its home, and the absence of a shell.

It prints "ALL OK" as its last line when everything passed, and exits
non-zero naming every failure otherwise.
"""

import importlib
import io
import os
import sys
import sysconfig
import traceback
import warnings

VER = "%d.%d" % sys.version_info[:2]

# Parts of CPython's standard library that Debian ships in packages of
# their own, which a python3.X image does not include. A module is covered
# by the longest entry naming it or a package it is in; an entry of None
# means "import it". Covered modules are not imported (a leftover such as
# turtle.py would fail for lack of tkinter), and the top-level names among
# them may be absent although sys.stdlib_module_names lists them.
SPLIT_OUT = {
    "tkinter": "python3-tk",
    "_tkinter": "python3-tk",
    "turtle": "python3-tk (turtle.py is in libpython3.X-stdlib, tkinter is not)",
    "turtledemo": "python%s-examples" % VER,
    "idlelib": "idle-python%s" % VER,
    "distutils": "python3-distutils (3.11; libpython3.11-stdlib keeps only a stub)",
    "lib2to3": "python3-lib2to3 (3.11)",
    # Debian's own patches to distutils' install commands, which import the
    # whole of distutils: python3-distutils on 3.11, setuptools' copy
    # (python3-setuptools) from 3.12 on.
    "_distutils_system_mod": "python3-distutils / python3-setuptools",
    "dbm.gnu": "python3-gdbm",
    "_gdbm": "python3-gdbm",
    "ensurepip": "python%s-venv" % VER,
    # The test package is libpython3.X-testsuite's; libpython3.X-stdlib
    # keeps test/__init__.py, test.support and the regrtest driver, which
    # must import.
    "test": "libpython%s-testsuite" % VER,
    "test.support": None,
    "test.libregrtest": None,
    "test.regrtest": None,
    # Reads test.test_tools' i18n helpers, which are in the testsuite.
    "test.support.i18n_helper": "libpython%s-testsuite" % VER,
}

# Modules that cannot be imported in a Linux image by design.
NOT_HERE = {
    # Windows only.
    "msvcrt", "winreg", "_winapi", "nt", "winsound", "_overlapped", "_msi", "msilib", "_wmi",
    "asyncio.windows_events", "asyncio.windows_utils", "multiprocessing.popen_spawn_win32",
    "encodings.mbcs", "encodings.oem", "distutils._msvccompiler", "distutils.msvc9compiler",
    "test.libregrtest.win_utils", "_pyrepl.windows_console",
    # macOS, iOS and Android only.
    "_scproxy", "_apple_support", "_ios_support", "_android_support",
}


def covered(name, table):
    """The longest entry of table naming name or a package it is in."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in table:
            return key
    return None


def excluded(name):
    """Why name is not imported, or None."""
    if "__main__" in name.split("."):
        # Running a package's __main__ is what it is for: importing one
        # runs the program (venv, unittest, test…).
        return "a __main__ script"
    if name in NOT_HERE:
        return "cannot import here by design"
    key = covered(name, SPLIT_OUT)
    if key and SPLIT_OUT[key]:
        if key == name and any(k.startswith(name + ".") and v is None for k, v in SPLIT_OUT.items()):
            return None  # the package of modules that must import (test)
        return "shipped by " + SPLIT_OUT[key]
    return None


def walk_modules():
    """Module names of the stdlib's .py files and extension modules."""
    stdlib = sysconfig.get_paths()["stdlib"]
    dynload = [p for p in sys.path if os.path.basename(p) == "lib-dynload" and os.path.isdir(p)]
    if not dynload:
        dynload = [os.path.join(stdlib, "lib-dynload")]
    names = set()

    def walk(directory, prefix):
        for entry in sorted(os.listdir(directory)):
            path = os.path.join(directory, entry)
            if entry.endswith(".py") and os.path.isfile(path):
                mod = entry[:-3]
                if mod == "__init__":
                    continue
                names.add(prefix + mod)
            elif os.path.isdir(path) and entry.isidentifier() and entry != "__pycache__":
                if prefix == "" and entry in ("site-packages", "dist-packages", "lib-dynload"):
                    continue
                # Regular packages only: a directory without __init__.py
                # in the stdlib is data (test inputs, idlelib icons).
                if os.path.isfile(os.path.join(path, "__init__.py")):
                    names.add(prefix + entry)
                    walk(path, prefix + entry + ".")

    walk(stdlib, "")
    for d in dynload:
        for entry in os.listdir(d):
            if entry.endswith(".so"):
                names.add(entry.split(".", 1)[0])
    return stdlib, dynload, names


def import_all():
    stdlib, dynload, walked = walk_modules()
    builtin = set(sys.builtin_module_names)
    failures = []
    imported = []
    skipped = {}
    real_stdout, real_argv = sys.stdout, sys.argv
    for name in sorted(walked | builtin):
        why = excluded(name)
        if why:
            skipped[name] = why
            continue
        # Some modules print when imported (this, __hello__) or look at
        # sys.argv; keep the report readable.
        sys.stdout, sys.argv = io.StringIO(), ["check_stdlib"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(name)
        except BaseException as e:  # SystemExit too: an import must not exit
            failures.append("%s: %s: %s" % (name, type(e).__name__, e))
        else:
            imported.append(name)
        finally:
            sys.stdout, sys.argv = real_stdout, real_argv

    # Every top-level name the interpreter says is in its stdlib must have
    # been found here, or be one of the known absentees.
    found_top = {n.split(".")[0] for n in walked} | builtin
    missing = []
    for name in sorted(sys.stdlib_module_names):
        if name in found_top or name in NOT_HERE or SPLIT_OUT.get(name):
            continue
        try:  # frozen-only modules have no file
            import _imp
            if _imp.is_frozen(name):
                continue
        except Exception:
            pass
        missing.append(name)
    if missing:
        failures.append("in sys.stdlib_module_names but not in the image: " + ", ".join(missing))
    tops = {n.split(".")[0] for n in imported}
    print("stdlib: %s, lib-dynload: %s" % (stdlib, ", ".join(dynload)))
    print("imported %d stdlib modules (%d top-level, %d of sys.stdlib_module_names); skipped %d: %s" % (
        len(imported), len(tops), len(tops & set(sys.stdlib_module_names)), len(skipped),
        ", ".join("%s (%s)" % kv for kv in sorted(skipped.items()))))
    return failures


def check(name, fn, failures):
    try:
        fn()
    except BaseException:
        failures.append("%s: %s" % (name, traceback.format_exc().strip().splitlines()[-1]))
        traceback.print_exc()
    else:
        print("ok:", name)


def check_ssl():
    import ssl
    ctx = ssl.create_default_context()
    n = len(ctx.get_ca_certs())
    assert n > 100, "default context loaded %d CA certificates" % n
    print("  %d CA certificates, %s" % (n, ssl.OPENSSL_VERSION))


def check_sqlite():
    import sqlite3
    db = sqlite3.connect(":memory:")
    db.execute("create table t (k text primary key, v blob)")
    db.executemany("insert into t values (?, ?)", [("é", b"\x00\x01"), ("b", b"x" * 1000)])
    db.commit()
    rows = db.execute("select k, v from t order by k").fetchall()
    assert rows == [("b", b"x" * 1000), ("é", b"\x00\x01")], rows
    db.close()


def check_compression():
    import bz2
    import lzma
    import zlib
    data = os.urandom(4096) + b"distroless " * 5000
    for mod in (zlib, bz2, lzma):
        c = mod.compress(data)
        assert mod.decompress(c) == data, mod.__name__
        assert len(c) < len(data), mod.__name__


def check_hashlib():
    import hashlib
    want = {
        "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha3_256": "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
        "blake2b": "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
                   "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
        "blake2s": "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
    }
    for algo, digest in want.items():
        got = hashlib.new(algo, b"abc").hexdigest()
        assert got == digest, "%s(abc) = %s" % (algo, got)


def check_ctypes():
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    assert libc.getpid() == os.getpid()
    libc.strlen.restype = ctypes.c_size_t
    assert libc.strlen(b"distroless") == 10


def check_zoneinfo():
    import datetime
    import zoneinfo
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    jan = datetime.datetime(2024, 1, 15, 12, tzinfo=paris).utcoffset()
    jul = datetime.datetime(2024, 7, 15, 12, tzinfo=paris).utcoffset()
    assert jan == datetime.timedelta(hours=1), jan
    assert jul == datetime.timedelta(hours=2), jul


def check_utf8_file():
    name = os.path.join(os.path.expanduser("~"), "héllo-✓.txt")
    with open(name, "w", encoding="utf-8") as f:
        f.write("ça marche ✓\n")
    assert "héllo-✓.txt" in os.listdir(os.path.dirname(name))
    with open(name, encoding="utf-8") as f:
        assert f.read() == "ça marche ✓\n"
    os.remove(name)
    assert sys.getfilesystemencoding() == "utf-8", sys.getfilesystemencoding()


def check_user():
    want_uid = int(os.environ.get("CHECK_UID", "65532"))
    assert os.getuid() == want_uid, "uid %d, want %d" % (os.getuid(), want_uid)
    home = os.environ.get("HOME")
    want_home = "/root" if want_uid == 0 else "/home/nonroot"
    assert home == want_home, "HOME=%r, want %s" % (home, want_home)
    assert os.access(home, os.W_OK), home + " is not writable"
    probe = os.path.join(home, ".probe")
    with open(probe, "w") as f:
        f.write("x")
    os.remove(probe)


def check_no_shell():
    import subprocess
    for sh in ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/bin/dash", "/bin/busybox"):
        assert not os.path.lexists(sh), sh + " exists"
    try:
        subprocess.run("true", shell=True)
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("subprocess.run(shell=True) did not raise FileNotFoundError")


def main():
    print("Python", sys.version.replace("\n", " "))
    failures = import_all()
    for name, fn in [
        ("ssl default CA store", check_ssl),
        ("sqlite3 in memory", check_sqlite),
        ("zlib/bz2/lzma round trips", check_compression),
        ("hashlib sha256/sha3/blake2", check_hashlib),
        ("ctypes libc", check_ctypes),
        ("zoneinfo Europe/Paris", check_zoneinfo),
        ("UTF-8 file name in HOME", check_utf8_file),
        ("user and HOME", check_user),
        ("no shell", check_no_shell),
    ]:
        check(name, fn, failures)
    if failures:
        print("FAILED (%d):" % len(failures))
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("ALL OK")


main()
