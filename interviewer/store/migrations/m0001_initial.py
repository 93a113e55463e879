"""0001_initial: the first schema (staff, invites, sessions and their transcripts, assessments,
reports, model calls, the audit log), as `store/tables.py` defined it when the step was written
(commit 5b87f33). Frozen: never edit it; a change to these tables is a new step."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from interviewer.store.migrations.ops import create_tables

NAME = "0001_initial"

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled", Boolean, nullable=False),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False),
)

track_versions = Table(
    "track_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", String(80), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("config", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("plan_id", "content_hash"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("plan_id", String(80), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("show_report", Boolean, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("plan_id", String(80), nullable=False),
    Column("track_version_id", Integer, ForeignKey("track_versions.id"), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("show_report", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("invite_id", Integer, ForeignKey("invites.id"), nullable=True),
    Column("client_address", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", String(20), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("content", Text, nullable=False),
    Column("track", String(40), nullable=True),
    Column("question_id", String(80), nullable=True),
    Column("key_point", String(80), nullable=True),
    Column("client_msg_id", String(100), nullable=True),
    Column("body_hash", String(64), nullable=True),
    Column("status", String(20), nullable=False),
    Column("reply_from", Integer, nullable=True),
    Column("reply_to", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("session_id", "seq"),
    UniqueConstraint("session_id", "client_msg_id"),
    Index("ix_turns_pending", "status"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("turn_seq", Integer, nullable=False),
    Column("question_id", String(80), nullable=False),
    Column("track", String(40), nullable=False),
    Column("score", Double, nullable=False),
    Column("scorer", String(20), nullable=False),
    Column("flags", JSON, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False, unique=True),
    Column("score", Double, nullable=False),
    Column("recommendation", String(20), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

model_calls = Table(
    "model_calls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(36), nullable=True),
    Column("model", String(200), nullable=False),
    Column("prompt", String(80), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("latency_ms", Double, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("actor", String(120), nullable=False),
    Column("action", String(80), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def upgrade(conn: Connection) -> None:
    create_tables(conn, *metadata.sorted_tables)
