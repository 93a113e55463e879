"""The code sandbox: runs a candidate's Python against tests, and contains it completely.

One interface, `Sandbox.run(code, tests, limits) -> RunResult` (model.py); one engine today,
`BubblewrapSandbox` (bwrap.py); a bounded `RunQueue` with its own workers in front (queue.py). It
imports only itself and the kernel.

What each isolation of the bubblewrap engine does (a fresh `bwrap` process per run):

- **An unprivileged uid.** A root host drops to `nobody` (65534) before starting bwrap (through
  `setpriv`, with no-new-privs): root ignores RLIMIT_NPROC, and a user namespace created by root
  maps back to root. bwrap then makes a user namespace without capabilities (`--cap-drop ALL`) in
  which no further user namespace can be made (`--disable-userns`). A host that is not root runs
  bwrap as itself (it needs unprivileged user namespaces then).
- **No network** (`--unshare-net`): a network namespace with only its own loopback, down. The
  host's 127.0.0.1 is another namespace's address: a connection to it fails.
- **Its own processes only** (`--unshare-pid`, plus ipc, uts, cgroup): the code cannot see or
  signal anything of the host; killing its parent hits the namespace's init, which ignores it;
  when the run ends the kernel kills everything left in the namespace (a fork bomb's children
  included).
- **A read-only minimal filesystem** (layout.py): the interpreter binary, its standard library
  and the shared libraries they load, read-only; no shell or other tools, no site-packages, no
  /etc, /home, /root, /work, database or data folder. The root and /dev are remounted read-only.
- **A private tmpfs** as the working folder (`/tmp`, size-capped by `Limits.disk_bytes`): the
  candidate's module `solution.py` and the test files are written there (each test file is
  deleted once imported); it vanishes with the run.
- **An empty environment** (`--clearenv`, the interpreter with `-I -S`): no secret of the host's
  environment reaches the code; bwrap itself is started with an empty environment too.
- **rlimits** set by the harness before the candidate's module is imported (hard = soft, so the
  code cannot raise them): CPU seconds, address space (memory), processes and threads, file size,
  open files, no core files.
- **A wall-clock deadline** kept by the host: past `Limits.wall_s` the whole process group is
  killed (`--die-with-parent` and the pid namespace take the rest down); each test also has its
  own CPU-time limit inside (so that one slow test does not lose the others' results).
- **Capped output**: stdout and stderr are read up to `Limits.output_bytes`, then the pipe is
  closed (the writer gets EPIPE) and `stdout_truncated` is set.
- **Results on their own pipe** (fd 3): prints cannot pass for results (harness.py tells the
  limits of that in-process channel).
- **Its own session** (`--new-session`): no controlling terminal (no TIOCSTI injection).
- **A lower CPU priority** (`Limits.nice`, set by the harness before the code starts): the
  process's nice value and its autogroup's — a new session is a new autogroup, which the
  scheduler would weigh against the server's as an equal — so CPU-bound runs take the cores the
  chat leaves (benchmarks/bench_exercise_queue.py). Honest code keeps it; hostile code can take
  back an equal share (its autogroup's nice, or a session of its own) until its deadline.

Not done here, and what a deployment adds: a seccomp filter (`bwrap --seccomp FD`), and cgroup v2
limits on memory and CPU share (RLIMIT_AS caps virtual memory per process, not the total of a
run's processes; `processes` keeps that total small). The engine needs unprivileged user
namespaces (or root); a container runtime's default seccomp profile may refuse them — then
`BubblewrapSandbox.unavailable()` says so and runs raise `errors.Unavailable`.

A stronger engine behind the same interface (Running at scale): implement `run` with gVisor
(`runsc` running the same harness in a pod or container sandbox), a Firecracker micro-VM per run,
or a Kubernetes Job per run (the payload in a ConfigMap or on stdin, the results read from the
pod's log or a results file; `activeDeadlineSeconds` as the wall-clock deadline, resource limits
for memory and CPU, a NetworkPolicy that denies all egress, a read-only root filesystem and an
emptyDir as the tmpfs). The harness and its payload stay as they are; only the process that
starts it changes, and `RunQueue` keeps bounding how many run at once.
"""

from __future__ import annotations

from interviewer.sandbox.bwrap import BubblewrapSandbox, new_label
from interviewer.sandbox.model import (
    CaseResult,
    Limits,
    Outcome,
    RunResult,
    Sandbox,
    SourceFile,
    Suite,
    Timing,
)
from interviewer.sandbox.queue import RunQueue

__all__ = [
    "BubblewrapSandbox",
    "CaseResult",
    "Limits",
    "Outcome",
    "RunQueue",
    "RunResult",
    "Sandbox",
    "SourceFile",
    "Suite",
    "Timing",
    "new_label",
]
