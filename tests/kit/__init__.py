"""What several test modules share, so that no test module imports another: an app on a test
client and the candidate API's calls (`client.py`), staff accounts and their logins on it
(`review.py`), an app whose interviews reach a coding exercise quickly (`exercise.py`), and the
hostile code the sandbox must contain (`hostile.py`). The browser tests' own helpers stay beside
them (tests/browser/browserkit.py, staffkit.py): they drive the live server, which only the
browser tests use.

The kit's `assert`s explain themselves as a test module's do (pytest rewrites them)."""

import pytest

pytest.register_assert_rewrite(
    "tests.kit.client", "tests.kit.exercise", "tests.kit.hostile", "tests.kit.review"
)
