"""Hostile code (issue 11: "hostile code gets nothing"), shared by the sandbox's own tests
(tests/test_sandbox.py) and the API's (tests/test_exercise_sandbox_api.py). Each attack is the
source of a module defining `attack()`; a caller adds what calls it (a test body, or an
exercise's function). The attacks that need the caller's facts (a port, paths, pids) are
functions of them."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from interviewer.sandbox import BubblewrapSandbox, new_label

INFINITE_LOOP = """\
def attack():
    while True:
        pass
"""

LOOP_SWALLOWING_TIMEOUTS = """\
def attack():
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
"""

LOOP_IGNORING_SIGNALS = """\
import signal
for sig in (signal.SIGALRM, signal.SIGPROF, signal.SIGXCPU):
    signal.signal(sig, signal.SIG_IGN)
while True:
    pass
"""

FORK_BOMB = """\
import os

def attack():
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""

FORKED_SLEEPERS = """\
import os
import time

def attack():
    started = 0
    for _ in range(200):
        try:
            if os.fork() == 0:
                time.sleep(600)
                os._exit(0)
        except OSError:  # the process limit
            break
        started += 1
    return started
"""

ALLOCATE_8_GB = """\
def attack():
    return bytearray(8 * 1024**3)
"""

GROWING_MEMORY = """\
def attack():
    hoard = []
    while True:
        hoard.append(bytearray(50 * 1024 * 1024))
"""

READ_ENVIRONMENT = """\
import os

def attack():
    print(dict(os.environ))
    for path in ("/proc/self/environ", "/proc/1/environ"):
        try:
            with open(path, "rb") as handle:
                print(path, handle.read())
        except OSError as exc:
            print(path, exc)
    return repr(dict(os.environ))
"""

KILL_OWN_GROUP = """\
import os
import signal

def attack():
    os.killpg(0, signal.SIGKILL)
"""


def require_bubblewrap() -> BubblewrapSandbox:
    """A sandbox of its own (a fresh label); skips the test where bwrap cannot run (fails in CI,
    where `CI` is set: `.ci/run` installs bubblewrap)."""
    engine = BubblewrapSandbox(label=new_label())
    reason = engine.unavailable()
    if reason is not None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"bubblewrap is required in CI and cannot run: {reason}", pytrace=False)
        pytest.skip(f"bubblewrap cannot run here: {reason}")
    return engine


def strays(label: str) -> list[str]:
    """Processes still running whose command line carries the sandbox's label."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if label.encode() in cmdline:
                shown = cmdline.replace(b"\0", b" ")[:120]
                found.append(f"{entry.name}: {shown!r}")
    return found


def no_strays(label: str) -> None:
    """Wait (up to 5 s) until no process of the sandbox labelled `label` is left."""
    deadline = time.monotonic() + 5
    while strays(label) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert strays(label) == [], "processes of the sandbox outlived its run"


HOST_FOLDERS = ("/work", "/root", "/home", "/etc", "/var", "/data")


def connect(port: int, abstract: str) -> str:
    """`attack()` returns what it reached: the host's loopback on `port`, a documentation
    address, an abstract unix socket named `abstract` (an empty list when contained)."""
    return textwrap.dedent(
        f"""\
        import socket

        def attack():
            reached = []
            for host in ("127.0.0.1", "192.0.2.1"):  # the host's loopback; a documentation address
                try:
                    socket.create_connection((host, {port}), timeout=1).close()
                    reached.append(host)
                except OSError:
                    pass
            try:
                unix = socket.socket(socket.AF_UNIX)
                unix.connect({abstract!r})
                reached.append("abstract unix socket")
            except OSError:
                pass
            return reached
        """
    )


def read_files(targets: list[str]) -> str:
    """`attack()` returns the files of `targets` it could read and the host folders it could
    see (an empty list when contained)."""
    return textwrap.dedent(
        f"""\
        import os

        def attack():
            read = []
            for path in {targets!r}:
                try:
                    with open(path, "rb") as handle:
                        if handle.read(1):
                            read.append(path)
                except OSError:
                    pass
            for folder in {HOST_FOLDERS!r}:
                if os.path.exists(folder):
                    read.append(folder)
            return read
        """
    )


def print_gigabytes(stream: str = "stdout") -> str:
    """`attack()` writes 5 GB to `stream`."""
    return textwrap.dedent(
        f"""\
        import sys

        def attack():
            line = "x" * 1_000_000
            for _ in range(5_000):  # 5 GB
                sys.{stream}.write(line)
        """
    )


def kill_parents(host_pids: tuple[int, ...]) -> str:
    """`attack()` sends SIGKILL to its parent, to pid 1 and to `host_pids`, then returns
    "alive"."""
    return textwrap.dedent(
        f"""\
        import os
        import signal

        def attack():
            for pid in (os.getppid(), 1, *{host_pids!r}):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            return "alive"
        """
    )
