from pathlib import Path

import pytest
from pydantic import ValidationError

from interviewer.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "INTERVIEWER_MODEL", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.data_dir == Path("data") and s.chroma_dir == Path("data/chroma")
    assert not s.uses_model and s.embedding_backend == "local" and s.database_url is None


def test_sdk_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.test/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("INTERVIEWER_MODEL", "gpt-test")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.openai_base_url == "http://llm.test/v1" and s.uses_model
    assert s.openai_api_key is not None and "sk-test" not in repr(s)
    assert s.database_url == "sqlite:///x.db"


def test_unsafe_setting_fails_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("INTERVIEWER_EMBEDDING_BACKEND", "openai")
    with pytest.raises(ValidationError, match="INTERVIEWER_EMBEDDING_BASE_URL"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = list(alias.choices) if alias is not None else []  # type: ignore[union-attr]
        names.append(f"INTERVIEWER_{name.upper()}")
        assert any(n in text for n in names), name
