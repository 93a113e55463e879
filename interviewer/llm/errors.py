"""The model boundary's error tree. SDK and HTTP errors are translated into these at the
boundary (`raise ... from exc`), so nothing above `llm/` imports the openai SDK.

    LLMError
    ├── LLMConnectionError      the endpoint could not be reached (after retries)
    ├── LLMTimeout              no answer within the timeout (after retries)
    ├── LLMRateLimited          429 after retries
    ├── LLMServerError          5xx after retries
    ├── LLMRequestRejected      4xx other than 429: bad request, auth, unknown model
    ├── LLMBadResponse          a success status, but no completion in it (a proxy's HTML
    │                           error page, an error object, a stream that is not one)
    └── LLMOutputError          the reply did not validate, even after one re-ask;
                                carries the last completion for review
"""

from __future__ import annotations


class LLMError(Exception):
    """Any failure of a model call."""


class LLMConnectionError(LLMError):
    pass


class LLMTimeout(LLMError):
    pass


class LLMRateLimited(LLMError):
    pass


class LLMServerError(LLMError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMRequestRejected(LLMError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMBadResponse(LLMError):
    """The endpoint answered 2xx with something that is not a chat completion."""


class LLMOutputError(LLMError):
    """The model's reply could not be parsed into the requested schema."""

    def __init__(self, message: str, *, last_completion: str, attempts: int) -> None:
        super().__init__(message)
        self.last_completion = last_completion
        self.attempts = attempts
