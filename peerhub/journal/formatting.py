"""A journal entry's simple formatting: a small Markdown (paragraphs, line breaks, bold,
italics, lists, quotes, code and links) rendered by markdown-it with raw HTML off, then passed
through nh3's allow-list sanitiser (SECURITY.md 13), so nothing but these few tags with
http(s)/mailto links can reach the page, whatever the text holds."""

from __future__ import annotations

import html as entities

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "a", "hr"}
ATTRIBUTES = {"a": {"href"}}
SCHEMES = {"http", "https", "mailto"}

_markdown = (
    MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    .disable("image")
    .disable("heading")
    .disable("lheading")
    .disable("table", ignoreInvalid=True)
)


def _only_links(tag: str, attribute: str, value: str) -> str | None:
    """nh3 keeps `title` and `lang` on every tag by default; only a link's target (and the
    `rel` nh3 sets itself) stays."""
    return value if tag == "a" and attribute in ("href", "rel") else None


def render(text: str) -> Markup:
    """The entry's text as safe HTML."""
    html = _markdown.render(text or "")
    return Markup(  # noqa: S704 - the sanitiser's allow-list output is the safe HTML
        nh3.clean(
            html,
            tags=TAGS,
            attributes=ATTRIBUTES,
            attribute_filter=_only_links,
            url_schemes=SCHEMES,
            link_rel="nofollow noopener noreferrer",
            strip_comments=True,
        )
    )


def excerpt(text: str, limit: int = 180) -> str:
    """The first words of the text without its formatting marks, for lists (plain text:
    the template escapes it)."""
    # the start of the text is enough for an excerpt (a long entry would be rendered whole)
    head = (text or "")[: limit * 6]
    plain = " ".join(entities.unescape(nh3.clean(_markdown.render(head), tags=set())).split())
    return plain if len(plain) <= limit else plain[: limit - 1].rsplit(" ", 1)[0] + "…"
