"""What every browser test needs before it can run: the system's Chromium (never `playwright
install`) and the playwright package. A module calls `require_browser()` first; without either it
is skipped, with the reason (CI installs both)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def require_browser() -> None:
    """Skip the calling test module unless Chromium and playwright are installed."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing (CI installs it: apt-get install chromium); browser tests skipped",
            allow_module_level=True,
        )
    pytest.importorskip("playwright.sync_api", reason="the playwright package is missing (dev extra)")
