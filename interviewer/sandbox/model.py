"""The sandbox's vocabulary: what a run is given (`Limits`, a `Suite` of test files) and what it
returns (`RunResult`), and the one interface every engine implements (`Sandbox`).

A `RunResult` is built by the host from what the harness reported; every test of the suite is in
it (one that never reported — the run crashed or hit its deadline — is an error or a timeout with
the reason), so `passed + failed + errors == len(tests)` always holds.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

MiB = 1024 * 1024

Outcome = Literal["passed", "failed", "error", "timeout"]
"""`failed`: an assertion did not hold; `error`: another exception, or the test could not run;
`timeout`: over its time limit (CPU seconds, or wall-clock as a backstop)."""

TEST_PREFIX = "test_"
SCALE_PREFIX = "scale_"


@dataclass(frozen=True)
class Limits:
    """What one run may use. The CPU, memory, process, file-size and open-file bounds are rlimits
    of the code's process (set before the candidate's code is imported); `wall_s` is the
    deadline the host enforces by killing the whole sandbox; `output_bytes` caps what is kept of
    stdout + stderr (the pipe is closed past it, so a flood stops instead of filling memory)."""

    cpu_s: int = 10
    wall_s: float = 20.0
    memory_bytes: int = 512 * MiB
    processes: int = 32
    """RLIMIT_NPROC: processes and threads of the sandbox's uid."""
    file_bytes: int = 4 * MiB
    """RLIMIT_FSIZE: the largest file the code may write."""
    disk_bytes: int = 16 * MiB
    """The size of the private tmpfs (its working directory)."""
    open_files: int = 64
    output_bytes: int = 64 * 1024
    nice: int = 5
    """The scheduling priority the run lowers itself to before the code starts (0–19; 19 is the
    lowest), so that runs take the CPU the host's own work (the chat) leaves: a burst of CPU-bound
    submissions on the same cores would otherwise slow every answer. It lowers the process's nice
    value and its autogroup's (harness.Priority: honest code keeps them; hostile code can take
    back no more than an equal share)."""

    def __post_init__(self) -> None:
        for name in ("cpu_s", "wall_s", "memory_bytes", "processes", "file_bytes", "disk_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")
        if self.open_files < 16:
            raise ValueError("Limits.open_files must be at least 16 (the interpreter needs some)")
        if self.output_bytes < 0:
            raise ValueError("Limits.output_bytes must not be negative")
        if not 0 <= self.nice <= 19:
            raise ValueError("Limits.nice must be between 0 and 19")


@dataclass(frozen=True)
class SourceFile:
    """One test module: `name` is its module name (an identifier), `source` its Python text.
    Functions named `test_*` are tests (no arguments; an assertion that fails fails the test);
    functions named `scale_*` take a size `n` and return a callable that the harness times on
    growing inputs (only the call is timed, not building the input)."""

    name: str
    source: str

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name == "solution":
            raise ValueError(f"test file name {self.name!r} must be an identifier other than 'solution'")

    def functions(self, prefix: str) -> list[str]:
        """The top-level functions whose names start with `prefix`, in source order."""
        try:
            tree = ast.parse(self.source)
        except SyntaxError:
            return []
        return [
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(prefix)
        ]


@dataclass(frozen=True)
class Suite:
    """The tests of one run. The candidate's code is the module `solution` (tests import from
    it); test names must be unique across the files."""

    files: tuple[SourceFile, ...]
    time_limit_s: float = 2.0
    """Each test's CPU-time limit unless `time_limits` names it."""
    time_limits: Mapping[str, float] = field(default_factory=dict)
    scale_sizes: tuple[int, ...] = ()
    """The sizes `n` every `scale_*` function is timed at (empty: no timing)."""

    def __post_init__(self) -> None:
        names = [(f.name, t) for f in self.files for t in f.functions(TEST_PREFIX)]
        seen: set[str] = set()
        for _, test in names:
            if test in seen:
                raise ValueError(f"test {test!r} is defined twice in the suite")
            seen.add(test)
        if len({f.name for f in self.files}) != len(self.files):
            raise ValueError("two test files have the same name")

    def tests(self) -> list[tuple[str, str]]:
        """(file, test) for every test, in the order they run."""
        return [(f.name, t) for f in self.files for t in f.functions(TEST_PREFIX)]

    def limit_for(self, test: str) -> float:
        return float(self.time_limits.get(test, self.time_limit_s))


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseResult(_Result):
    """One test's result."""

    name: str
    group: str
    """The test file it came from (e.g. `examples` or `hidden`)."""
    outcome: Outcome
    message: str = ""
    duration_ms: float = 0.0
    cpu_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "passed"


class Timing(_Result):
    """One point of a timing curve: `name` (a `scale_*` function) called at size `n`."""

    name: str
    n: int
    cpu_ms: float
    wall_ms: float
    outcome: Outcome = "passed"


class RunResult(_Result):
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    errors: int = Field(ge=0)
    timed_out: bool
    """A test was over its time limit, or the whole run over its deadline."""
    tests: list[CaseResult]
    timings: list[Timing] = Field(default_factory=list)
    duration_ms: float
    """Wall-clock time of the whole run, start-up of the sandbox included."""
    stdout_truncated: bool = False
    output: str = ""
    """What the code printed (stdout and stderr, in order), up to `Limits.output_bytes`."""
    crash: str | None = None
    """Why the run ended early (deadline, CPU limit, a killed process, code that would not
    import), in words for the candidate; None when every test ran."""

    @classmethod
    def of(
        cls,
        tests: list[CaseResult],
        *,
        duration_ms: float,
        timings: list[Timing] | None = None,
        stdout_truncated: bool = False,
        output: str = "",
        crash: str | None = None,
        deadline_hit: bool = False,
    ) -> RunResult:
        """The result with its counts derived from `tests`."""
        return cls(
            passed=sum(t.outcome == "passed" for t in tests),
            failed=sum(t.outcome in ("failed", "timeout") for t in tests),
            errors=sum(t.outcome == "error" for t in tests),
            timed_out=deadline_hit or any(t.outcome == "timeout" for t in tests),
            tests=tests,
            timings=timings or [],
            duration_ms=round(duration_ms, 1),
            stdout_truncated=stdout_truncated,
            output=output,
            crash=crash,
        )


class Sandbox(Protocol):
    """Runs untrusted code against tests. Implementations must contain the code completely (no
    network, no host files, no way to outlive or harm the caller) and always return within
    `limits.wall_s` plus a small margin; they raise `errors.Unavailable` when they cannot run
    anything at all (the engine is missing or refused by the kernel)."""

    def run(self, code: str, tests: Suite, limits: Limits) -> RunResult: ...
