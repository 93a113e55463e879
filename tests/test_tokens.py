from pathlib import Path

import pytest

from interviewer.llm import tokens
from interviewer.llm.tokens import TokenCounter, ensure_offline_encoding


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty tiktoken cache: proves the encodings come from the installed package."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokens.encoding.cache_clear()
    yield tmp_path
    tokens.encoding.cache_clear()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("o200k_base", [24912, 2375]), ("cl100k_base", [15339, 1917])],
)
def test_known_encodings_work_offline(fresh_cache: Path, name: str, expected: list[int]) -> None:
    assert tokens.encoding(name).encode("hello world") == expected
    assert len(list(fresh_cache.iterdir())) == 1


def test_corrupt_cache_file_is_replaced(fresh_cache: Path) -> None:
    ensure_offline_encoding("o200k_base")
    (cached,) = fresh_cache.iterdir()
    cached.write_bytes(b"garbage")
    ensure_offline_encoding("o200k_base")
    assert tokens.encoding("o200k_base").encode("hello world") == [24912, 2375]


def test_disabled_cache_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    with pytest.raises(tokens.TokenizerUnavailable, match="TIKTOKEN_CACHE_DIR"):
        ensure_offline_encoding("o200k_base")


def test_counter_counts_and_truncates(fresh_cache: Path) -> None:
    counter = TokenCounter("o200k_base")
    assert counter.count("hello world") == 2
    assert counter.count("") == 0
    text = "word " * 500
    cut = counter.truncate(text, 50)
    assert counter.count(cut) <= 50 and text.startswith(cut)
    assert counter.truncate("short", 50) == "short"
    # special-token text in candidate input is counted as plain text, never rejected
    assert counter.count("<|endoftext|>") > 1


def test_message_count_includes_chat_overhead(fresh_cache: Path) -> None:
    counter = TokenCounter()
    msgs = [("system", "You are an interviewer."), ("user", "hello world")]
    plain = sum(counter.count(r) + counter.count(c) for r, c in msgs)
    assert counter.count_messages(msgs) == plain + 2 * TokenCounter.PER_MESSAGE + TokenCounter.PER_REPLY
