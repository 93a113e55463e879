"""Reference articles: Markdown in our own words, split into passages for retrieval.

A passage is one `##` section, or a run of its paragraphs when the section is long, prefixed
with the article title and section heading so that a passage retrieved alone still says what it
is about. Passages are kept under the embedding model's window (MiniLM reads 256 word pieces;
about 180 words of English fit comfortably).
"""

from __future__ import annotations

import re
from pathlib import Path

from interviewer.domain import Article, ArticleChunk

MAX_WORDS = 170
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


class ArticleFormatError(ValueError):
    pass


def parse_article(path: Path) -> Article:
    slug = path.stem
    lines = path.read_text(encoding="utf-8").splitlines()
    title = ""
    sections: list[tuple[str, list[str]]] = []
    in_code = False
    for line in lines:
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match and len(match.group(1)) == 1 and not title:
            title = match.group(2)
            sections.append(("", []))
        elif match and len(match.group(1)) == 2:
            sections.append((match.group(2), []))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            raise ArticleFormatError("an article must start with a level-1 heading (# Title)")
    if not title:
        raise ArticleFormatError("an article must start with a level-1 heading (# Title)")
    chunks: list[ArticleChunk] = []
    for heading, body in sections:
        for part in _split_paragraphs(body):
            prefix = f"{title} — {heading}" if heading else title
            chunks.append(
                ArticleChunk(
                    id=f"{slug}:{len(chunks)}",
                    article=slug,
                    title=title,
                    heading=heading or title,
                    text=f"{prefix}\n\n{part}",
                )
            )
    if not chunks:
        raise ArticleFormatError("the article has no text under its headings")
    return Article(slug=slug, title=title, chunks=chunks)


def _split_paragraphs(body: list[str]) -> list[str]:
    """Group paragraphs (blank-line separated; code blocks kept whole) into passages."""
    paragraphs: list[str] = []
    current: list[str] = []
    in_code = False
    for line in body:
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not line.strip() and not in_code:
            if current:
                paragraphs.append("\n".join(current).strip())
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append("\n".join(current).strip())
    passages: list[str] = []
    words = 0
    for para in paragraphs:
        n = len(para.split())
        if passages and words + n <= MAX_WORDS:
            passages[-1] += "\n\n" + para
            words += n
        else:
            passages.append(para)
            words = n
    return [p for p in passages if p.strip()]
