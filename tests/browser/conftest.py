"""Browser fixtures: Playwright's sync API driving the system's Chromium (never `playwright install`).

Each test module skips itself, with the reason, when /usr/bin/chromium or the playwright package is
missing (`browserkit.require_browser`; CI installs both). The server under test is the session-scoped `live_server` fixture of
tests/conftest.py: a real `interviewer serve` process on the offline engine."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from browserkit import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")  # module: Playwright keeps an event loop running until stopped
def chromium_context() -> Iterator[Any]:
    """One headless Chromium with a fresh, throw-away profile for the whole session."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="interviewer-chromium-")
    pw = sync_playwright().start()
    try:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
            locale="en-GB",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()
    finally:
        pw.stop()
        shutil.rmtree(profile, ignore_errors=True)


class PageProblems:
    """Everything a page did that a test should fail on: script errors, CSP violations, dialogs."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def check(self) -> None:
        assert not self.dialogs, f"a dialog was opened: {self.dialogs}"
        assert not self.errors, f"the page reported errors: {self.errors}"


@pytest.fixture()
def page(chromium_context: Any) -> Iterator[Any]:
    """A fresh tab in the shared profile."""
    tab = chromium_context.new_page()
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture()
def problems(page: Any) -> PageProblems:
    """Records what should fail a test: a dialog (alert/confirm, dismissed), an uncaught script
    error, a Content-Security-Policy violation. Call `problems.check()` at the end."""
    found = PageProblems()

    def on_dialog(dialog: Any) -> None:
        found.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(msg: Any) -> None:
        text = msg.text
        if msg.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            found.errors.append(text)

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: found.errors.append(f"pageerror: {exc}"))
    page.on("console", on_console)
    return found
