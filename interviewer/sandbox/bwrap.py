"""The bubblewrap engine: each run is a fresh `bwrap` process (namespaces, a read-only minimal
filesystem, a private tmpfs) running the harness under the sandbox's Python. What each isolation
does is told in the package docstring (`interviewer/sandbox/__init__.py`).

The host side of a run: spawn bwrap in a process group of its own, feed the payload to stdin,
read the results pipe and the (capped) output together with one selector until both end or the
deadline passes, then kill the group and reap. A run never raises for what the code did — a
crash, a kill, a flood of output all become a `RunResult`; only an engine that cannot start
raises `errors.Unavailable`.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from interviewer.errors import Unavailable
from interviewer.sandbox.layout import Layout, default_python, discover
from interviewer.sandbox.model import SCALE_PREFIX, CaseResult, Limits, RunResult, Suite, Timing

NOBODY = 65534
"""The uid/gid a root host drops to before bwrap (root ignores RLIMIT_NPROC)."""
WORKDIR = "/tmp"
HARNESS = "/sandbox/harness.py"
RESULTS_CAP = 4 * 1024 * 1024
"""More result bytes than any honest harness writes: past this the run is stopped."""
REAP_S = 5.0
_SIGNALS = {
    signal.SIGKILL: "it was killed (over the memory or CPU limit, or it killed itself)",
    signal.SIGXCPU: "it used up its CPU time limit",
    signal.SIGSEGV: "the interpreter crashed (segmentation fault)",
    signal.SIGABRT: "the interpreter aborted",
}


@dataclass
class _Collected:
    results: bytearray = field(default_factory=bytearray)
    output: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    deadline_hit: bool = False
    flooded: bool = False
    returncode: int | None = None


class BubblewrapSandbox:
    """`Sandbox` on bubblewrap. `python` is the interpreter to run (default: a system Python
    under /usr, see `layout.default_python`); `label` is added to the harness's argv so that a
    caller can find its runs' processes (the tests check that none is left)."""

    def __init__(self, *, python: str | None = None, bwrap: str = "bwrap", label: str = "") -> None:
        self._python = python
        self._bwrap = bwrap
        self.label = label or "interviewer-sandbox"
        self._layout: Layout | None = None
        self._problem: str | None = None
        self._checked = False
        self._prefix: list[str] = []
        self._popen: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._harness = resources.files("interviewer.sandbox").joinpath("harness.py").read_bytes()

    # --- availability -----------------------------------------------------------------------

    def unavailable(self) -> str | None:
        """None when this engine can run code here, else why not (checked once: a probe run)."""
        with self._lock:
            if not self._checked:
                self._problem = self._probe()
                self._checked = True
            return self._problem

    def _probe(self) -> str | None:
        try:
            self._layout = discover(self._python or default_python())
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            return f"the sandbox's Python cannot run: {exc}"
        if shutil.which(self._bwrap) is None:
            return f"{self._bwrap!r} not found: install bubblewrap (apt-get install bubblewrap)"
        self._prefix, self._popen = _drop_privileges()
        argv = [*self._prefix, *self._command(Limits(), None)[:-3], "-c", "pass"]
        try:
            done = subprocess.run(  # noqa: S603  # bwrap with our own arguments, no shell
                argv, capture_output=True, timeout=30, env={}, check=False, **self._popen
            )
        except FileNotFoundError:
            return f"{self._bwrap!r} not found: install bubblewrap (apt-get install bubblewrap)"
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap does not start: {exc}"
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip()[-300:]
            return f"bubblewrap cannot create its namespaces here: {reason or done.returncode}"
        return None

    def _command(self, limits: Limits, fds: tuple[int, int] | None) -> list[str]:
        layout = self._layout
        assert layout is not None
        harness_fd, results_fd = fds if fds is not None else (-1, -1)
        argv = [
            self._bwrap,
            "--unshare-user",  # a user namespace: the code has no capabilities, and cannot make more
            "--disable-userns",
            "--unshare-pid",  # sees only its own processes; all die with the namespace's init
            "--unshare-net",  # no network at all: only a loopback device of its own, down
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--die-with-parent",  # if the host dies, the sandbox dies
            "--new-session",  # no controlling terminal to inject keystrokes into
            "--clearenv",
            "--cap-drop",
            "ALL",
            *layout.arguments(),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(limits.disk_bytes),
            "--tmpfs",
            WORKDIR,
            "--chdir",
            WORKDIR,
        ]
        if harness_fd >= 0:
            argv += ["--ro-bind-data", str(harness_fd), HARNESS]
        argv += ["--remount-ro", "/", "--remount-ro", "/dev", "--"]
        argv += [layout.python, "-I", "-S", "-B", "-u", "-X", "utf8", HARNESS, str(results_fd), self.label]
        return argv

    # --- a run ------------------------------------------------------------------------------

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult:
        problem = self.unavailable()
        if problem is not None:
            raise Unavailable(f"the code sandbox is unavailable: {problem}")
        payload = marshal.dumps(
            {
                "code": code,
                "files": [
                    {
                        "name": f.name,
                        "source": f.source,
                        "tests": f.functions("test_"),
                        "scales": f.functions(SCALE_PREFIX),
                    }
                    for f in tests.files
                ],
                "time_limit_s": tests.time_limit_s,
                "time_limits": dict(tests.time_limits),
                "scale_sizes": list(tests.scale_sizes),
                "limits": {
                    "cpu_s": limits.cpu_s,
                    "memory_bytes": limits.memory_bytes,
                    "processes": limits.processes,
                    "file_bytes": limits.file_bytes,
                    "open_files": limits.open_files,
                    "nice": limits.nice,
                },
            },
            4,  # the format every Python 3 since 3.4 reads
        )
        started = time.perf_counter()
        collected = self._spawn(payload, limits)
        duration_ms = (time.perf_counter() - started) * 1000
        return _assemble(tests, collected, limits, duration_ms)

    def _spawn(self, payload: bytes, limits: Limits) -> _Collected:
        harness_r, harness_w = os.pipe()
        results_r, results_w = os.pipe()
        try:
            os.write(harness_w, self._harness)  # ~10 KB: fits in the pipe's buffer
            os.close(harness_w)
            argv = [*self._prefix, *self._command(limits, (harness_r, results_w))]
            try:
                proc = subprocess.Popen(  # noqa: S603  # bwrap with our own arguments, no shell
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    pass_fds=(harness_r, results_w),
                    env={},
                    cwd="/",
                    process_group=0,
                    **self._popen,
                )
            except OSError as exc:
                raise Unavailable(f"the code sandbox did not start: {exc}") from exc
        finally:
            for fd in (harness_r, results_w):
                os.close(fd)
        try:
            return _collect(proc, payload, results_r, limits)
        finally:
            os.close(results_r)
            _kill(proc)


def _drop_privileges() -> tuple[list[str], dict[str, Any]]:
    """How to start bwrap as nobody when we are root (root would ignore RLIMIT_NPROC, and a user
    namespace of root's maps back to root): a command prefix, or Popen's arguments. `setpriv`
    (util-linux) is preferred: with Popen's own `user=` Python must fork() instead of vfork(),
    copying the page tables of a large server process on every run. Not root: nothing to drop."""
    if os.geteuid() != 0:
        return [], {}
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if setpriv is None:
        return [], {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs", "--"], {}


def _collect(proc: subprocess.Popen[bytes], payload: bytes, results_fd: int, limits: Limits) -> _Collected:
    assert proc.stdin is not None and proc.stdout is not None
    got = _Collected()
    deadline = time.monotonic() + limits.wall_s
    stdin, stdout = proc.stdin.fileno(), proc.stdout.fileno()
    os.set_blocking(stdin, False)
    sel = selectors.DefaultSelector()
    sel.register(stdin, selectors.EVENT_WRITE)
    sel.register(stdout, selectors.EVENT_READ)
    sel.register(results_fd, selectors.EVENT_READ)
    sent = 0
    try:
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                got.deadline_hit = True
                return got
            for key, _ in sel.select(remaining):
                fd = key.fd
                if fd == stdin:
                    try:
                        sent += os.write(stdin, payload[sent : sent + 65536])
                    except BlockingIOError:
                        continue
                    except OSError:  # the harness is gone already
                        sent = len(payload)
                    if sent >= len(payload):
                        sel.unregister(stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    sel.unregister(fd)
                elif fd == stdout:
                    room = limits.output_bytes - len(got.output)
                    got.output += chunk[: max(room, 0)]
                    if len(chunk) > room:  # past the cap: close the pipe, the writer gets EPIPE
                        got.truncated = True
                        sel.unregister(stdout)
                        proc.stdout.close()
                else:
                    got.results += chunk
                    if len(got.results) > RESULTS_CAP:
                        got.flooded = True
                        return got
        got.returncode = proc.wait(timeout=max(0.05, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        got.deadline_hit = True
    finally:
        sel.close()
    return got


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill bwrap's process group; its children die with it (--die-with-parent, and the pid
    namespace ends with its init)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None and not stream.closed:
            with contextlib.suppress(OSError):
                stream.close()
    with contextlib.suppress(subprocess.TimeoutExpired):  # a kernel that does not deliver SIGKILL
        proc.wait(timeout=REAP_S)


def _assemble(suite: Suite, got: _Collected, limits: Limits, duration_ms: float) -> RunResult:
    expected = suite.tests()
    cases: dict[str, CaseResult] = {}
    timings: list[Timing] = []
    file_errors: dict[str, str] = {}
    crash: str | None = None
    done = False
    known = {name for _, name in expected}
    groups = {group for group, _ in expected}
    scales = {s for f in suite.files for s in f.functions(SCALE_PREFIX)}
    for line in bytes(got.results).splitlines():
        try:
            record = json.loads(line)
            kind = record["kind"]
            if kind == "case" and record.get("name") in known:
                cases[record["name"]] = CaseResult.model_validate(
                    {k: v for k, v in record.items() if k != "kind"}
                )
            elif kind == "timing" and record.get("name") in scales:
                timings.append(Timing.model_validate({k: v for k, v in record.items() if k != "kind"}))
            elif kind == "file_error" and record.get("group") in groups:
                file_errors[record["group"]] = str(record.get("message", ""))[:600]
            elif kind == "crash":
                crash = str(record.get("message", ""))[:600]
            elif kind == "done":
                done = True
        except (ValueError, KeyError, TypeError):
            continue  # not a line of the harness's
    if got.flooded:
        crash = "the run wrote too much to the results channel and was stopped"
    elif got.deadline_hit:
        crash = f"the run did not finish within its {limits.wall_s:g} s deadline and was stopped"
    elif not done and crash is None:
        crash = _ended(got.returncode)
    tests: list[CaseResult] = []
    for group, name in expected:
        if name in cases:
            tests.append(cases[name])
        elif group in file_errors:
            message = f"the test file does not import: {file_errors[group]}"
            tests.append(CaseResult(name=name, group=group, outcome="error", message=message))
        else:
            outcome = "timeout" if got.deadline_hit else "error"
            tests.append(CaseResult(name=name, group=group, outcome=outcome, message=f"not run: {crash}"))
    output = bytes(got.output).decode("utf-8", errors="replace")
    return RunResult.of(
        tests,
        duration_ms=duration_ms,
        timings=timings,
        stdout_truncated=got.truncated,
        output=output,
        crash=crash,
        deadline_hit=got.deadline_hit,
    )


def _ended(returncode: int | None) -> str:
    if returncode is None:
        return "the run ended without reporting"
    signum = returncode - 128 if returncode > 128 else -returncode if returncode < 0 else 0
    if signum > 0:
        try:
            sig = signal.Signals(signum)
        except ValueError:
            return f"the run ended without reporting: it got signal {signum}"
        return f"the run ended without reporting: {_SIGNALS.get(sig, f'it got {sig.name}')}"
    return f"the run ended without reporting (exit status {returncode})"


def new_label() -> str:
    """A label unique to one sandbox (tests look for stray processes by it)."""
    return f"interviewer-sandbox-{uuid.uuid4().hex[:12]}"
