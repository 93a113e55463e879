"""The test runner inside the sandbox: a script run by the sandbox's own Python (`-I -S`: no
site-packages, no environment), importing nothing but built-in modules — not even `json`,
`signal` or `typing`, whose imports (re, enum, collections) would cost tens of milliseconds on
every run; the run's start-up time is mostly the interpreter's.

It reads one marshalled payload from stdin (the candidate's code, the test files, the limits) to
its end, then stdin becomes /dev/null; writes the code as `solution.py` and the test files into its
working directory (the private tmpfs); sets the rlimits; and only then imports the candidate's
module and runs each test under its own time limit (CPU seconds through ITIMER_PROF, with a
wall-clock backstop through ITIMER_REAL for code that blocks instead of computing).

Results go as JSON lines (written by `_json`) to a pipe of their own (the file descriptor given
in argv, moved to 3), never to stdout: stdout and stderr belong to the candidate, and nothing
printed can pass for a result. A line is written as each test ends, so a run that is killed later keeps what it had. Code
that deliberately writes to that pipe or patches this module's objects runs in the same process
and could fake its own results; that is cheating in plain sight of whoever reads the code, not an
escape from the sandbox (the host only accepts results for the tests it sent).
"""

from __future__ import annotations

import marshal
import os
import resource
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: not imported when the harness runs
    from collections.abc import Callable
    from types import FrameType, ModuleType, TracebackType
    from typing import Any

signal: Any = __import__("_signal")  # the C module under `signal`, without its enum wrappers

RESULTS_FD = 3
WALL_FACTOR = 4.0
"""The wall-clock backstop of a test is this many times its CPU limit, plus WALL_SLACK_S (a busy
machine gives a test a fraction of a core; code that blocks uses no CPU at all)."""
WALL_SLACK_S = 2.0
MESSAGE_CHARS = 600


def _json(record: dict[str, Any]) -> str:
    """A flat dict of str, int, float and bool as JSON (ASCII, surrogate pairs above the BMP)."""
    parts = []
    for key, value in record.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        else:
            text = _quote(str(value))
        parts.append(f"{_quote(key)}: {text}")
    return "{" + ", ".join(parts) + "}"


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= code < 127:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    out.append('"')
    return "".join(out)


class _Timeout(BaseException):
    """Raised into the running test by the timer signal (a BaseException so that a bare
    `except Exception` in the candidate's code does not swallow it)."""


class Reporter:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pid = os.getpid()

    def send(self, **record: Any) -> None:
        if os.getpid() != self.pid:  # a process the candidate forked went on into this code
            os._exit(0)
        os.write(self.fd, (_json(record) + "\n").encode("ascii"))


def _waited_s() -> float:
    """Seconds this thread has spent waiting for a CPU (runnable but not running: the kernel's
    run-queue time, /proc/thread-self/schedstat), or -1 where the kernel does not tell."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return -1.0


class Clock:
    """One test's time limits. A first expiry raises `_Timeout` in the test; a second (the code
    caught the first and went on) reports the test as timed out and ends the run. The wall-clock
    backstop is for code that blocks: when it expires, the time the test spent waiting for a CPU
    (runnable, not run: a busy machine, and the run's priority is lowered) is granted once more,
    so a starved test is not reported as one that hangs. The host's deadline (`Limits.wall_s`)
    still bounds the whole run."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.armed = False
        self.strikes = 0
        self.limit = 0.0
        self.current: tuple[str, str] = ("", "")
        self.cpu_at = 0.0
        self.waited_at = -1.0
        self.granted = 0.0

    def arm(self, limit: float, current: tuple[str, str]) -> None:
        self.limit, self.current, self.strikes, self.armed = limit, current, 0, True
        self.cpu_at = time.process_time()
        self.waited_at, self.granted = _waited_s(), 0.0
        signal.setitimer(signal.ITIMER_PROF, limit)
        signal.setitimer(signal.ITIMER_REAL, self.backstop())

    def backstop(self) -> float:
        return self.limit * WALL_FACTOR + WALL_SLACK_S

    def starved(self) -> float:
        """The run-queue time since the last look, if it is worth granting (else 0)."""
        now = _waited_s()
        if now < 0 or self.waited_at < 0:
            return 0.0
        grant = now - self.waited_at
        self.waited_at = now
        return grant if grant >= 0.05 else 0.0

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)

    def message(self, signum: int) -> str:
        if signum == signal.SIGPROF:
            return f"timed out: more than {self.limit:g} s of CPU time"
        used = time.process_time() - self.cpu_at
        wall = self.backstop() + self.granted
        return f"timed out: no result after {wall:.3g} s of wall-clock time ({used:.1f} s of CPU time)"

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.armed:
            return
        if signum == signal.SIGALRM and self.strikes == 0 and (grant := self.starved()):
            self.granted += grant  # it was waiting for a CPU, not hanging: give that time back
            signal.setitimer(signal.ITIMER_REAL, grant)
            return
        self.strikes += 1
        if self.strikes == 1:
            signal.setitimer(signal.ITIMER_REAL, 1.0)
            raise _Timeout(self.message(signum))
        group, name = self.current
        if name:
            self.reporter.send(
                kind="case", name=name, group=group, outcome="timeout", message=self.message(signum)
            )
        self.reporter.send(kind="crash", message="the code ignored its time limit: the run was stopped there")
        os._exit(0)


def _where(tb: TracebackType | None, sources: dict[str, list[str]]) -> tuple[str, int, str]:
    """The innermost frame in one of our files: (file, line number, source line)."""
    found = ("", 0, "")
    while tb is not None:
        name = os.path.basename(tb.tb_frame.f_code.co_filename)
        if name in sources:
            lines = sources[name]
            lineno = tb.tb_lineno
            found = (name, lineno, lines[lineno - 1].strip() if 0 < lineno <= len(lines) else "")
        tb = tb.tb_next
    return found


def _describe(exc: BaseException, sources: dict[str, list[str]]) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({os.path.basename(exc.filename or '?')}, line {exc.lineno})"
    file, line, text = _where(exc.__traceback__, sources)
    if isinstance(exc, AssertionError):
        told = str(exc)
        message = told if told else (text or "assertion failed")
    elif isinstance(exc, MemoryError):
        message = "MemoryError: over the memory limit"
    elif isinstance(exc, BrokenPipeError):
        message = "BrokenPipeError: the output went over its limit and was cut off"
    else:
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if file and not (isinstance(exc, AssertionError) and not str(exc)):
        message += f" ({file}, line {line})"
    return message[:MESSAGE_CHARS]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105  # contextlib would cost an import on every run
            stream.flush()
        except (OSError, ValueError):  # the host closed the pipe past the output cap
            pass


def _run(
    clock: Clock,
    call: Callable[[], object],
    limit: float,
    current: tuple[str, str],
    sources: dict[str, list[str]],
) -> tuple[str, str, float, float]:
    """(outcome, message, wall ms, cpu ms) of one call under its time limit."""
    wall, cpu = time.perf_counter(), time.process_time()
    outcome, message = "passed", ""
    try:
        clock.arm(limit, current)
        try:
            call()
        finally:
            clock.disarm()
    except _Timeout as exc:
        outcome, message = "timeout", str(exc)
    except AssertionError as exc:
        outcome, message = "failed", _describe(exc, sources)
    except BaseException as exc:  # the candidate's code may raise anything, SystemExit included
        outcome, message = "error", _describe(exc, sources)
    wall_ms = (time.perf_counter() - wall) * 1000
    cpu_ms = (time.process_time() - cpu) * 1000
    _flush()
    return outcome, message, round(wall_ms, 2), round(cpu_ms, 2)


def _set_limits(limits: dict[str, int]) -> None:
    def cap(which: int, soft: int, hard: int | None = None) -> None:
        _, current = resource.getrlimit(which)
        top = hard if hard is not None else soft
        if current != resource.RLIM_INFINITY:
            soft, top = min(soft, current), min(top, current)
        resource.setrlimit(which, (soft, top))

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_CPU, limits["cpu_s"], limits["cpu_s"] + 1)
    cap(resource.RLIMIT_AS, limits["memory_bytes"])
    cap(resource.RLIMIT_NPROC, limits["processes"])
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    cap(resource.RLIMIT_NOFILE, limits["open_files"])


class Priority:
    """The run's share of the CPU, lowered before the candidate's code starts. Two levers, because
    one is not enough: the process's nice value (inherited by its children) weighs it against the
    processes of its autogroup only, and bwrap's `--new-session` makes a new autogroup — which the
    scheduler (autogroup on, as on most distributions) weighs against the server's as an equal
    whatever the nice values inside. So the autogroup's nice is set too (`/proc/self/autogroup`).
    The kernel lets an unprivileged process set an autogroup's nice only once every 100 ms
    machine-wide (EAGAIN otherwise), so a refused write is tried again before each test until it
    holds. The process's nice cannot be lowered again without privileges; the autogroup's can
    (to 0, and a child may start a session of its own): hostile code can take back an equal
    share — what every run had before this — for at most its deadline, never more. A hard bound
    on a run's CPU share is a cgroup's `cpu.weight` (sandbox/__init__.py: what a deployment adds)."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self.pending = nice > 0
        if nice > os.getpriority(os.PRIO_PROCESS, 0):  # lower only (a niced host: nicer already)
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        self.settle()

    def settle(self) -> None:
        if not self.pending:
            return
        try:
            with open("/proc/self/autogroup", "w", encoding="ascii") as handle:
                handle.write(str(self.nice))
            self.pending = False
        except BlockingIOError:  # EAGAIN: another autogroup was set in the last 100 ms
            pass
        except OSError:  # no autogroups in this kernel: the nice value is all there is
            self.pending = False


def _import(name: str) -> ModuleType:
    module = __import__(name)
    assert isinstance(module, type(sys))
    return module


def main() -> None:
    os.dup2(int(sys.argv[1]), RESULTS_FD)
    if int(sys.argv[1]) != RESULTS_FD:
        os.close(int(sys.argv[1]))
    reporter = Reporter(RESULTS_FD)
    payload = marshal.loads(
        sys.stdin.buffer.read()
    )  # written by the host (trusted), before any candidate code
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)

    sources: dict[str, list[str]] = {}
    for name, text in [("solution", payload["code"])] + [(f["name"], f["source"]) for f in payload["files"]]:
        with open(f"{name}.py", "w", encoding="utf-8") as handle:
            handle.write(text)
        sources[f"{name}.py"] = text.splitlines()
    sys.path.insert(0, os.getcwd())
    sys.dont_write_bytecode = True
    priority = Priority(int(payload["limits"]["nice"]))
    _set_limits(payload["limits"])

    clock = Clock(reporter)
    signal.signal(signal.SIGPROF, clock.on_signal)
    signal.signal(signal.SIGALRM, clock.on_signal)

    def over_cpu(signum: int, frame: FrameType | None) -> None:
        reporter.send(kind="crash", message="the run used up its CPU time limit")
        os._exit(0)

    signal.signal(signal.SIGXCPU, over_cpu)
    default = float(payload["time_limit_s"])
    limits: dict[str, float] = payload["time_limits"]

    priority.settle()
    outcome, message, _, _ = _run(clock, lambda: _import("solution"), default, ("", ""), sources)
    if outcome != "passed":
        reporter.send(kind="crash", message=f"solution.py does not import: {message}")
        reporter.send(kind="done")
        os._exit(0)

    scales: list[tuple[Callable[[int], Callable[[], object]], str]] = []
    for spec in payload["files"]:
        group = spec["name"]
        holder: list[ModuleType] = []

        def load(name: str = group, into: list[ModuleType] = holder) -> None:
            into.append(_import(name))

        outcome, message, _, _ = _run(clock, load, default, (group, ""), sources)
        try:  # noqa: SIM105  # once imported, the tests' source is not left for the code to read
            os.unlink(f"{group}.py")
        except OSError:
            pass
        if not holder:
            reporter.send(kind="file_error", group=group, message=message)
            continue
        module = holder[0]
        for test in spec["tests"]:
            fn = getattr(module, test, None)
            if not callable(fn):
                reporter.send(kind="case", name=test, group=group, outcome="error", message="not a function")
                continue
            limit = float(limits.get(test, default))
            priority.settle()
            outcome, message, wall_ms, cpu_ms = _run(clock, fn, limit, (group, test), sources)
            reporter.send(
                kind="case",
                name=test,
                group=group,
                outcome=outcome,
                message=message,
                duration_ms=wall_ms,
                cpu_ms=cpu_ms,
            )
        scales += [(getattr(module, s), s) for s in spec["scales"] if callable(getattr(module, s, None))]

    for fn, name in scales:
        limit = float(limits.get(name, default))
        for n in payload["scale_sizes"]:
            built: list[Callable[[], object]] = []

            def build(
                make: Callable[[int], Callable[[], object]] = fn,
                size: int = n,
                into: list[Callable[[], object]] = built,
            ) -> None:
                into.append(make(size))

            outcome, message, _, _ = _run(clock, build, limit, ("", ""), sources)
            if outcome == "passed" and built and callable(built[0]):
                outcome, message, wall_ms, cpu_ms = _run(clock, built[0], limit, ("", ""), sources)
            else:
                wall_ms = cpu_ms = 0.0
            reporter.send(kind="timing", name=name, n=n, cpu_ms=cpu_ms, wall_ms=wall_ms, outcome=outcome)
            if outcome != "passed":
                break
    reporter.send(kind="done")
    _flush()
    os._exit(0)


if __name__ == "__main__":
    main()
