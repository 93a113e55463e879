"""interviewer: an LLM-backed mock interviewer for Senior Python Developer roles."""

__version__ = "0.1.0"
