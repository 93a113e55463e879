"""The read-only filesystem a sandboxed interpreter sees: the interpreter binary, its standard
library and the shared libraries they load — nothing else of the host (no shell, no other tools,
no site-packages, no /etc, /home, /root, /work or data folders).

Found once per process by asking the interpreter where its standard library is and `ldd` which
libraries it and its extension modules load; each needed path is mounted at the same place, its
symlinks (merged-/usr distributions: /lib -> usr/lib, /lib64 -> usr/lib64) recreated. Without
`ldd` (a libc other than glibc) the fallback is the whole of /usr read-only, still without /etc
or any data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Layout:
    python: str
    """The interpreter's real path (the same inside and outside)."""
    binds: tuple[str, ...]
    """Host paths mounted read-only at the same path, parents first."""
    symlinks: tuple[tuple[str, str], ...]
    """(target, link) symlinks recreated inside."""
    hidden: tuple[str, ...] = ()
    """Folders under a bind covered by an empty tmpfs (the interpreter's site-packages)."""

    def arguments(self) -> list[str]:
        args: list[str] = []
        for path in self.binds:
            args += ["--ro-bind", path, path]
        for target, link in self.symlinks:
            args += ["--symlink", target, link]
        for path in self.hidden:
            args += ["--tmpfs", path, "--remount-ro", path]
        return args


def default_python() -> str:
    """The interpreter to sandbox: the one running us when it is a system install under /usr
    (a container image's /usr/local Python), else the distribution's python3. A virtualenv or a
    pyenv build lives in a folder (often under /root or a home) the sandbox must not see."""
    base = Path(getattr(sys, "_base_executable", sys.executable) or sys.executable).resolve()
    candidates = [base] if base.parts[:2] == ("/", "usr") else []
    candidates += [Path("/usr/local/bin/python3"), Path("/usr/bin/python3")]
    for path in candidates:
        if path.exists():
            return str(path.resolve())
    return str(base)


_QUERY = (
    "import json, sys, sysconfig; p = sysconfig.get_paths(); "
    "print(json.dumps([sys.executable, p['stdlib'], p['platstdlib'], p['purelib'], p['platlib']]))"
)


def discover(python: str) -> Layout:
    """The layout for `python` (runs it once, and `ldd` once). Raises OSError or ValueError
    when the interpreter cannot be run."""
    done = subprocess.run(  # noqa: S603  # our own interpreter path, no shell
        [python, "-I", "-S", "-c", _QUERY],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        env={},
        check=False,
    )
    if done.returncode != 0:
        raise ValueError(f"{python} does not run: {done.stderr.strip()[-300:]}")
    executable, stdlib, platstdlib, purelib, platlib = json.loads(done.stdout)
    real = os.path.realpath(executable or python)
    dynload = Path(platstdlib) / "lib-dynload"
    modules = sorted(str(p) for p in dynload.glob("*.so")) if dynload.is_dir() else []
    libraries = _ldd([real, *modules])
    if libraries is None:
        return _whole_usr(real)
    binds: set[str] = set()
    links: dict[str, str] = {}
    _need(real, binds, links, directory=False)
    for folder in {stdlib, platstdlib}:
        _need(folder, binds, links, directory=True)
    for library in libraries:
        _need(library, binds, links, directory=False, parent=True)
    kept = _outermost(binds)
    hidden = tuple(
        sorted(
            {
                os.path.realpath(p)
                for p in (purelib, platlib)
                if os.path.isdir(p) and any(_under(os.path.realpath(p), b) for b in kept)
            }
        )
    )
    symlinks = tuple(sorted((t, link) for link, t in links.items() if not any(_under(link, b) for b in kept)))
    return Layout(python=real, binds=kept, symlinks=symlinks, hidden=hidden)


def _ldd(files: list[str]) -> list[str] | None:
    try:
        done = subprocess.run(  # noqa: S603  # the fixed ldd with file paths, no shell
            ["ldd", *files], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env={}, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found: set[str] = set()
    for line in done.stdout.splitlines():
        line = line.strip()
        path = line.split("=>", 1)[1].strip() if "=>" in line else line
        path = path.split(" (", 1)[0].strip()
        if path.startswith("/") and not line.endswith(":"):
            found.add(path)
    return sorted(found) if found else None


def _need(
    path: str, binds: set[str], links: dict[str, str], *, directory: bool, parent: bool = False
) -> None:
    """Record what makes `path` reachable inside: the symlinks along it and the mount of the path
    itself (or of its folder, with `parent`); a final symlink is followed as well."""
    for _ in range(16):  # symlink chains are short; a loop is not followed forever
        current = "/"
        parts = Path(path).parts[1:]
        for i, part in enumerate(parts):
            candidate = os.path.join(current, part)
            if os.path.islink(candidate) and i < len(parts) - 1:
                target = os.readlink(candidate)
                links[candidate] = target
                current = os.path.normpath(os.path.join(current, target))
            else:
                current = candidate
        binds.add(
            os.path.dirname(current) if parent or (not directory and os.path.islink(current)) else current
        )
        if not os.path.islink(current):
            return
        path = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(paths: set[str]) -> tuple[str, ...]:
    ordered = sorted(paths, key=lambda p: (p.count("/"), p))
    kept: list[str] = []
    for path in ordered:
        if not any(_under(path, k) for k in kept):
            kept.append(path)
    return tuple(kept)


def _whole_usr(python: str) -> Layout:
    links: list[tuple[str, str]] = []
    binds = ["/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            links.append((os.readlink(top), top))
        elif os.path.isdir(top):
            binds.append(top)
    if not _under(python, "/usr"):
        binds.append(os.path.dirname(python))
    return Layout(python=python, binds=tuple(binds), symlinks=tuple(links))
