"""A fake OpenAI-compatible chat model server for benchmarks (a separate process).

    .venv/bin/python benchmarks/fake_llm_server.py --port 8101 --ttft-ms 500 --tps 50

Serves
    POST /v1/chat/completions   streaming (SSE `chat.completion.chunk`s, one word per chunk, usage in
                                the last chunk when `stream_options.include_usage`) and non-streaming
    GET  /v1/models             one model, "fake"
    GET  /stats?since=N         per-request records (kind, marker, start/end wall clock, duration)
    POST /stats/reset           forget the records
    GET  /healthz

Timing: time to first token (`--ttft-ms`, default 500) then one token every 1/`--tps` s (default 50
tokens/s), done with `asyncio.sleep`. Non-streaming replies sleep TTFT + tokens/tps, then answer.
`--error-rate` answers that share of requests with 429 or 500 (half each) right away.

Replies:
- the interview's scoring prompt (system message contains "strict, fair technical assessor"):
  a JSON object with `criteria` for accuracy, depth, trade_offs, communication (score 1-5, evidence
  = a short verbatim substring of the candidate's text inside the last `<answer-…>` block of the
  last user message), `covered`, `missed`, `pitfalls`, `manipulation: false`. Its pacing counts
  ~4 characters per token (what a real tokenizer gives for JSON), unless `--json-tokens` is set.
- the checklist scoring prompt (system message contains "You answer a checklist"): a JSON object
  with one check per `- K<n>:` / `- P<n>:` line of the checklist — key points "yes" (at random,
  seeded by the request number) with the same kind of verbatim quote, pitfalls "no" — and
  `manipulation: false`; paced like the scoring reply.
- anything else: a short question-like sentence of `--reply-tokens` words that differs every call
  and ends with the request number, e.g. "Thanks — how would you handle that at ten times the
  load? (#17)". The load driver reads that number back from the interviewer's reply to match the
  turn to this server's record of the call.

Each request is recorded with the benchmark marker found in the candidate's latest answer
(`[bench <id>]`), so the load driver can attribute scoring calls to turns as well.
Only for local benchmarks: it binds 127.0.0.1 by default.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import time
from typing import Any

import orjson
import uvicorn

SCORING_MARK = "strict, fair technical assessor"
CHECKLIST_MARK = "You answer a checklist"
_CHECK = re.compile(r"^- ([KP]\d+):", re.M)
CRITERIA = ("accuracy", "depth", "trade_offs", "communication")
_BLOCK = re.compile(r"<(answer-[0-9a-f]+)>\s*(.*?)\s*</\1>", re.S)
_MARKER = re.compile(r"\[bench ([A-Za-z0-9_.:-]+)\]")
_QUESTIONS = [
    "Thanks — how would you handle that at ten times the load?",
    "Good — what would you change if the data no longer fit in memory?",
    "Understood — how would you test that part before shipping it?",
    "Right — which failure would worry you most there, and why?",
    "Okay — how would you explain that choice to a junior colleague?",
    "Thanks — what would you monitor once that is in production?",
]
_FILLER = "and what would you look at first when it goes wrong in production".split()


def _evidence(answer: str) -> list[str]:
    """A short verbatim substring: the first few words of the longest marker-free stretch."""
    segment = max(re.split(r"\[bench [^\]]*\]", answer), key=len).strip()
    words = segment.split()
    for k in (6, 3, 1):
        quote = " ".join(words[:k])
        if quote and quote in answer:
            return [quote]
    return []


class Config:
    def __init__(self, ns: argparse.Namespace) -> None:
        self.ttft = ns.ttft_ms / 1000.0
        self.tps = float(ns.tps)
        self.reply_tokens = int(ns.reply_tokens)
        self.json_tokens = ns.json_tokens
        self.error_rate = float(ns.error_rate)
        self.seed = ns.seed


class FakeLLM:
    def __init__(self, config: Config) -> None:
        self.c = config
        self.counter = itertools.count(1)
        self.records: list[dict[str, Any]] = []
        self.rng = random.Random(config.seed)
        self.inflight = 0
        self.max_inflight = 0

    # --- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path.rstrip("/").endswith("/chat/completions"):
            body = await _read_body(receive)
            await self.chat(body, send)
        elif method == "GET" and path.rstrip("/").endswith("/models"):
            await _json(
                send,
                200,
                {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "bench"}]},
            )
        elif method == "GET" and path == "/stats":
            qs = dict(p.split("=", 1) for p in scope.get("query_string", b"").decode().split("&") if "=" in p)
            since = int(qs.get("since", "0"))
            await _json(
                send,
                200,
                {
                    "records": [r for r in self.records if r["n"] > since],
                    "inflight": self.inflight,
                    "max_inflight": self.max_inflight,
                },
            )
        elif method == "POST" and path == "/stats/reset":
            await _read_body(receive)
            self.records.clear()
            self.max_inflight = self.inflight
            await _json(send, 200, {"ok": True})
        elif path == "/healthz":
            await _json(send, 200, {"ok": True})
        else:
            await _json(send, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    # --- chat -------------------------------------------------------------------------------
    async def chat(self, raw: bytes, send: Any) -> None:
        t0 = time.perf_counter()
        wall0 = time.time()
        n = next(self.counter)
        try:
            req = orjson.loads(raw)
            messages = req["messages"]
        except Exception:  # noqa: BLE001
            await _json(
                send, 400, {"error": {"message": "bad request body", "type": "invalid_request_error"}}
            )
            return
        system = " ".join(m.get("content") or "" for m in messages if m.get("role") == "system")
        last_user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        blocks = _BLOCK.findall(last_user)
        answer = blocks[-1][1] if blocks else ""
        marker_m = _MARKER.findall(answer) or _MARKER.findall(last_user)
        marker = marker_m[-1] if marker_m else None
        kind = "score" if SCORING_MARK in system or CHECKLIST_MARK in system else "phrase"
        stream = bool(req.get("stream"))
        record: dict[str, Any] = {
            "n": n,
            "kind": kind,
            "marker": marker,
            "stream": stream,
            "start": wall0,
            "status": 200,
        }
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if self.c.error_rate and self.rng.random() < self.c.error_rate:
                status = 429 if self.rng.random() < 0.5 else 500
                record["status"] = status
                await _json(
                    send,
                    status,
                    {
                        "error": {
                            "message": "fake error",
                            "type": "rate_limit_error" if status == 429 else "server_error",
                        }
                    },
                    headers=[(b"retry-after", b"0")] if status == 429 else None,
                )
                return
            if kind == "score":
                reply = (
                    self.checklist_reply(answer, _CHECK.findall(system), n)
                    if CHECKLIST_MARK in system
                    else self.score_reply(answer, n)
                )
                text = orjson.dumps(reply).decode()
                tokens = self.c.json_tokens or max(1, len(text) // 4)
                pieces = _split_tokens(text, tokens)
            else:
                words = self.phrase_words(n)
                tokens = len(words)
                pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
                text = "".join(pieces)
            prompt_tokens = sum(len(m.get("content") or "") for m in messages) // 4
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": tokens,
                "total_tokens": prompt_tokens + tokens,
            }
            cid = f"chatcmpl-fake-{n}"
            model = req.get("model", "fake")
            if stream:
                await self.stream(
                    send,
                    pieces,
                    cid,
                    model,
                    usage,
                    bool((req.get("stream_options") or {}).get("include_usage")),
                )
            else:
                await asyncio.sleep(self.c.ttft + tokens / self.c.tps)
                await _json(
                    send,
                    200,
                    {
                        "id": cid,
                        "object": "chat.completion",
                        "created": int(wall0),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage,
                    },
                )
            record["prompt_tokens"] = prompt_tokens
            record["completion_tokens"] = tokens
        finally:
            self.inflight -= 1
            record["end"] = time.time()
            record["dur_ms"] = (time.perf_counter() - t0) * 1000
            self.records.append(record)

    async def stream(
        self, send: Any, pieces: list[str], cid: str, model: str, usage: dict[str, int], include_usage: bool
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
            }
        )
        created = int(time.time())

        def chunk(
            delta: dict[str, Any], finish: str | None = None, use: dict[str, int] | None = None
        ) -> bytes:
            payload: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if use is None else [],
            }
            if use is not None:
                payload["usage"] = use
            return b"data: " + orjson.dumps(payload) + b"\n\n"

        start = time.perf_counter()
        await asyncio.sleep(self.c.ttft)
        await send(
            {
                "type": "http.response.body",
                "body": chunk({"role": "assistant", "content": pieces[0]}),
                "more_body": True,
            }
        )
        for i, piece in enumerate(pieces[1:], start=1):
            # pace against the clock, so a busy loop does not stretch every token
            delay = start + self.c.ttft + i / self.c.tps - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))
            await send({"type": "http.response.body", "body": chunk({"content": piece}), "more_body": True})
        tail = chunk({}, "stop")
        if include_usage:
            tail += chunk({}, use=usage)
        await send({"type": "http.response.body", "body": tail + b"data: [DONE]\n\n", "more_body": False})

    # --- content ------------------------------------------------------------------------------
    def score_reply(self, answer: str, n: int) -> dict[str, Any]:
        evidence = _evidence(answer)
        rng = random.Random(n)
        return {
            "criteria": [
                {
                    "id": cid,
                    "score": rng.randint(2, 5) if evidence else 2,
                    "evidence": evidence,
                    "rationale": f"The answer addresses {cid.replace('_', ' ')} reasonably.",
                }
                for cid in CRITERIA
            ],
            "covered": [],
            "missed": [],
            "pitfalls": [],
            "manipulation": False,
        }

    def checklist_reply(self, answer: str, ids: list[str], n: int) -> dict[str, Any]:
        evidence = _evidence(answer)
        rng = random.Random(n)
        checks = []
        for cid in ids:
            yes = bool(evidence) and cid.startswith("K") and rng.random() < 0.6
            checks.append({"id": cid, "answer": "yes" if yes else "no", "quote": evidence[0] if yes else ""})
        return {"checks": checks, "manipulation": False}

    def phrase_words(self, n: int) -> list[str]:
        base = _QUESTIONS[n % len(_QUESTIONS)].split()
        target = max(self.c.reply_tokens, 2)
        body = base[:-1]  # keep the closing question for the end
        i = 0
        while len(body) + 2 < target:
            body.append(_FILLER[i % len(_FILLER)])
            i += 1
        return [*body[: max(0, target - 2)], base[-1], f"(#{n})"]


def _split_tokens(text: str, tokens: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, tokens)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _json(send: Any, status: int, data: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = orjson.dumps(data)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8101)
    p.add_argument("--ttft-ms", type=float, default=500.0, help="time to first token (ms)")
    p.add_argument("--tps", type=float, default=50.0, help="tokens per second after the first")
    p.add_argument("--reply-tokens", type=int, default=20, help="words in a text reply")
    p.add_argument(
        "--json-tokens", type=int, default=None, help="tokens a JSON reply is paced as (default len/4)"
    )
    p.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 429/500")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    ns = parse_args(argv)
    app = FakeLLM(Config(ns))
    uvicorn.run(app, host=ns.host, port=ns.port, log_level="warning", access_log=False, backlog=4096)


if __name__ == "__main__":
    main()
