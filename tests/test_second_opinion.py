"""The second opinion's child process dies with its parent: a worker killed with SIGKILL (no
shutdown code runs) must not leave the ~520 MB scorer process, nor multiprocessing's helpers,
running forever. A real parent process, a real spawned child, a real kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE, ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")

PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from interviewer.bank import load_bank
    from interviewer.config import Settings
    from interviewer.engine.second_opinion import SecondOpinionJob, SecondOpinions

    data, knowledge = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(_env_file=None, data_dir=data, knowledge_dir=knowledge)
    bank = load_bank(knowledge)
    question = next(iter(bank.questions.values()))
    track = bank.tracks[question.track]
    opinions = SecondOpinions(settings)
    job = SecondOpinionJob(question, "Generators are lazy.", tuple(track.rubric))
    opinions.submit(job, lambda score: print(f"scored {score}", flush=True))
    time.sleep(600)
    """
)


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo += children - found
            found |= children
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited (its new parent may never reap it)


def test_the_child_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "data"), str(KNOWLEDGE)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # the child is up and has done its work: now idle, waiting for the next job
        assert parent.stdout is not None and parent.stdout.readline().startswith("scored ")
        children = {p for p in descendants(parent.pid) if running(p)}
        assert children, "the second opinion's child is not running"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while any(running(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = sorted(p for p in children if running(p))
        for pid in left:  # do not leave them behind for the rest of the suite
            os.kill(pid, signal.SIGKILL)
        assert not left, f"still running after their parent was killed: {left}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
