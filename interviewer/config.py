"""One typed settings object for every knob, read once (from the environment and `.env`) and
passed down to whatever needs it. Nothing else in the package reads the environment.

Names follow DESIGN.md: model endpoint settings use the openai SDK's own names
(`OPENAI_BASE_URL`, `OPENAI_API_KEY`), the database is `DATABASE_URL`, everything else is
`INTERVIEWER_*`. `.env.example` lists every field with a one-line comment.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INTERVIEWER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(default=Path("data"), description="SQLite file and Chroma index")
    knowledge_dir: Path = Field(default=Path("knowledge"), description="question bank, articles and tracks")
    prompts_dir: Path = Field(default=Path("prompts"), description="prompt templates")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "INTERVIEWER_DATABASE_URL"),
    )

    # --- vector index ------------------------------------------------------------------
    chroma_host: str | None = Field(default=None, description="Chroma server; unset = embedded")
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    chroma_ssl: bool = False
    collection_prefix: str = Field(default="interviewer", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$")

    # --- embeddings --------------------------------------------------------------------
    embedding_backend: Literal["local", "openai"] = "local"
    embedding_model: str = "text-embedding-3-small"
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None
    embedding_batch_size: int = Field(default=16, ge=1, le=2048)

    # --- chat model --------------------------------------------------------------------
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "INTERVIEWER_OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "INTERVIEWER_OPENAI_API_KEY")
    )
    model: str | None = Field(default=None, description="model name; unset = offline engine")
    llm_timeout_s: float = Field(default=60.0, gt=0, le=600)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    model_scorer: Literal["checklist", "holistic"] = Field(
        default="checklist",
        description=(
            "how the model scores an answer: yes/no checks per key point and misconception with "
            "quotes, the score computed in code (checklist), or 1-5 numbers per criterion (holistic)"
        ),
    )
    # model faults and limits: every call bounded, every turn within a time budget
    turn_budget_s: float = Field(
        default=25.0,
        ge=0,
        le=600,
        description=(
            "a candidate turn's time budget for model calls; past it the offline scorer and the "
            "bank's text are used (0 = no budget)"
        ),
    )
    llm_max_tokens: int = Field(
        default=2048,
        ge=16,
        le=200_000,
        description="cap on any model call's output tokens (each prompt sets its own, within it)",
    )

    # --- web ---------------------------------------------------------------------------
    invite_only: bool = Field(default=False, description="practice interviews need an invite code")
    answers_per_minute: int = Field(default=30, ge=1, le=10_000, description="per session token")
    requests_per_minute: int = Field(default=300, ge=1, le=100_000, description="per client address")
    sessions_per_minute: int = Field(default=20, ge=1, le=10_000, description="new sessions per address")
    max_active_turns: int = Field(
        default=512,
        ge=0,
        le=100_000,
        description="turns processed at once per process; beyond: 503 (0 = no cap)",
    )
    max_loop_lag_ms: float = Field(
        default=250,
        ge=0,
        le=60_000,
        description="when the event loop runs this late (out of CPU), new answers get 503 (0 = off)",
    )
    max_write_queue: int = Field(
        default=128,
        ge=0,
        le=100_000,
        description="database writes waiting in this worker beyond which new answers get 503 (0 = off)",
    )
    staff_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    candidate_token_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="a candidate's session token (transcript, answers, report) expires this many days "
        "after the interview started: then 401",
    )
    trust_proxy_headers: bool = Field(
        default=False, description="take the client address from X-Forwarded-For"
    )

    # --- security limits (issue 12; README "Security") -----------------------------------
    trusted_proxies: str = Field(
        default="127.0.0.1/32,::1/128",
        description=(
            "comma-separated CIDRs of the reverse proxies in front; with trust_proxy_headers the "
            "client is the right-most X-Forwarded-For hop outside them (a peer outside them is "
            "never believed); their connections are exempt from the per-address connection cap"
        ),
    )
    rate_limit_max_keys: int = Field(
        default=100_000, ge=10, le=10_000_000, description="clients each rate limiter tracks per process"
    )
    login_checks_at_once: int = Field(
        default=1, ge=1, le=64, description="password checks (argon2id) running at once per process"
    )
    login_queue: int = Field(
        default=4, ge=0, le=1000, description="logins that may wait for a password check; beyond: 429"
    )
    logins_per_minute: int = Field(
        default=60, ge=1, le=100_000, description="password checks per minute per process, all clients"
    )
    logins_per_minute_per_address: int = Field(
        default=10, ge=1, le=100_000, description="password checks per minute per client address"
    )
    login_failures_before_backoff: int = Field(
        default=5, ge=1, le=1000, description="failed logins of one account before it backs off"
    )
    login_backoff_max_s: int = Field(
        default=900, ge=1, le=86_400, description="longest back-off of one account (it doubles from 5 s)"
    )
    header_timeout_s: float = Field(
        default=10, gt=0, le=600, description="a request's line and headers must arrive within this"
    )
    body_timeout_s: float = Field(
        default=60, gt=0, le=3600, description="a request's body must arrive within this (408 beyond)"
    )
    max_connections_per_address: int = Field(
        default=64, ge=0, le=100_000, description="open connections per client address (0 = no cap)"
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token that /metrics requires; unset: /metrics is 404"
    )
    metrics_public: bool = Field(default=False, description="serve /metrics to anyone (no token)")

    second_opinion: Literal["deferred", "inline", "off"] = Field(
        default="deferred",
        description=(
            "with a model, the offline scorer's second opinion: computed after the reply "
            "(deferred: a low-priority child process), on the turn's path (inline), or not at all (off)"
        ),
    )
    db_threads: int = Field(default=8, ge=1, le=256, description="threads for database work per process")
    sandbox_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="coding-exercise runs at once per process (the sandbox queue's workers)",
    )
    sandbox_queue: int = Field(
        default=20, ge=0, le=10_000, description="runs waiting beyond the workers; beyond: 503 (Overloaded)"
    )
    sandbox_nice: int = Field(
        default=5,
        ge=0,
        le=19,
        description="the CPU priority a sandbox run lowers itself to (nice value, 19 lowest): runs "
        "take the CPU the chat leaves",
    )
    sqlite_fsync_answers: bool = Field(
        default=True,
        description=(
            "SQLite: fsync the commit that takes an answer (survives a power cut); false: every "
            "commit at synchronous=NORMAL (survives a killed process, ~5 ms less per answer)"
        ),
    )

    # --- start-up and logs ---------------------------------------------------------------
    log_format: Literal["auto", "text", "json"] = Field(
        default="auto",
        description="`interviewer serve` logs: text, JSON lines, or auto (text on a terminal, else JSON)",
    )

    # --- review ------------------------------------------------------------------------
    calibration_min_kappa: float = Field(
        default=0.6, ge=-1, le=1, description="below this machine-evaluator kappa, calibration warns"
    )

    # --- tokens ------------------------------------------------------------------------
    tokenizer_encoding: Literal["o200k_base", "cl100k_base"] = "o200k_base"
    prompt_token_budget: int = Field(default=4000, ge=500, le=200_000)

    @model_validator(mode="after")
    def _check_embedding_endpoint(self) -> Settings:
        if self.embedding_backend == "openai" and not (
            self.embedding_base_url or self.openai_base_url or self.openai_api_key
        ):
            raise ValueError(
                "INTERVIEWER_EMBEDDING_BACKEND=openai needs an endpoint: set "
                "INTERVIEWER_EMBEDDING_BASE_URL (or OPENAI_BASE_URL) and an API key, "
                "or use the default local embedding (INTERVIEWER_EMBEDDING_BACKEND=local)"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        parse_networks(value)  # a bad entry fails at start-up, naming itself
        return value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _check_metrics_token(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw in (None, ""):
            return None  # unset (an empty line in .env too)
        if not isinstance(raw, str) or len(raw) < 16:
            raise ValueError("INTERVIEWER_METRICS_TOKEN needs at least 16 characters (a random string)")
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def uses_model(self) -> bool:
        """True when a chat model endpoint is configured; otherwise the offline engine runs."""
        return self.model is not None and (
            self.openai_base_url is not None or self.openai_api_key is not None
        )


def parse_networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated CIDRs (a bare address is a /32 or /128)."""
    out = []
    for part in value.split(","):
        if part.strip():
            try:
                out.append(ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR network: {part.strip()!r}") from None
    return tuple(out)


def load_settings(**overrides: object) -> Settings:
    """Read the settings once (environment, then `.env`); overrides win (tests, CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
