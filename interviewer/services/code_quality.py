"""Code quality of a submission: ruff's findings on the code, a rule set about correctness and
needless complexity, not layout.

The code is only parsed, never run: ruff reads it on stdin (`--isolated`, so no configuration
file of this machine or of the candidate's is read, no cache written) in an empty temporary
directory. The rules (`RULES`):
- F: pyflakes — unused imports and variables, undefined names, redefinitions;
- E7, E9: comparisons to None/True with `==`, bare `except:`, lambda assignments; syntax errors;
- B: bugbear — mutable default arguments, loop variables captured late, `assert False`, ...;
- C901 (over 15 paths, so a small hand-written parser passes), PLR0911/0912/0913/0915 (too
  many returns, branches, arguments, statements), PLW0603 (`global`): needless complexity;
- SIM: code with a simpler equivalent; N8: names (function names in snake_case, ...).
Every reference solution in the bank has no finding (tests/test_code_quality.py checks it).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass

RULES = "F,E7,E9,B,C901,SIM,N8,PLR0911,PLR0912,PLR0913,PLR0915,PLW0603"
MAX_COMPLEXITY = 15
TIMEOUT_S = 10.0
MAX_FINDINGS = 20
"""At most this many findings are kept for a submission (each costs the same; the score floors)."""


@dataclass(frozen=True)
class Finding:
    code: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.code} (line {self.line}): {self.message}"


def ruff_binary() -> str | None:
    """The ruff executable of this environment (the `ruff` package is a runtime dependency)."""
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return str(find_ruff_bin())
    except FileNotFoundError:
        return None


def findings(code: str) -> list[Finding] | None:
    """ruff's findings on `code`, in line order; None when ruff cannot run here (the score then
    leaves quality out rather than guessing)."""
    binary = ruff_binary()
    if binary is None or not code.strip():
        return None if binary is None else []
    command = [
        binary,
        "check",
        "--isolated",
        "--no-cache",
        "--quiet",
        "--exit-zero",
        "--select",
        RULES,
        "--config",
        f"lint.mccabe.max-complexity = {MAX_COMPLEXITY}",
        "--output-format",
        "json",
        "--stdin-filename",
        "solution.py",
        "-",
    ]
    with tempfile.TemporaryDirectory(prefix="interviewer-ruff-") as cwd:
        try:
            done = subprocess.run(  # noqa: S603 - a fixed command; the code is data on stdin
                command,
                input=code,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                cwd=cwd,
                env={"PATH": "/usr/bin:/bin"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    if done.returncode != 0:
        return None
    try:
        raw = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return None
    found = [
        Finding(
            code=str(item.get("code") or "syntax"),
            line=int((item.get("location") or {}).get("row") or 0),
            message=str(item.get("message") or "")[:200],
        )
        for item in raw
    ]
    return sorted(found, key=lambda f: (f.line, f.code))[:MAX_FINDINGS]
