#!/usr/bin/env python3
"""Checks the links of the built book, and of Markdown files that link into it, without the network.

    infra/scripts/check-links.py BOOK_DIR [--src DIR [--markdown FILE]...]

BOOK_DIR is mdBook's HTML output (target/book). Every `href` and `src` of every page (but mdBook's own
404.html) must resolve: a relative URL to a file under BOOK_DIR, and its `#fragment` to an `id` (or
`name`) in that file, against the page's `<base href>` where it has one. External
`http(s)` URLs are checked for their form only (a scheme, a host name, no spaces), never fetched.

Every `{{#include FILE:ANCHOR}}` in a chapter under `--src` must name a file, and an anchor that file
marks with `ANCHOR: name` and `ANCHOR_END: name` (mdBook includes nothing, without a word, for an
anchor that is not there).

Each `--markdown FILE` (the README) has its links checked the same way: a link to a chapter under
`--src DIR` (docs/src) must name a chapter that was built, and its fragment a heading of the built page;
a link to any other repository path must name a file or folder that exists. Links inside code (fenced
blocks and `inline code`) are not links and are skipped.

Prints one line per broken link (`file:line: url: why`) and exits 1 if there is any, else 0.
"""
from __future__ import annotations

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# A host name or an IPv4 address, as a URL's authority holds it (user info and port allowed).
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
HOST = re.compile(rf"^(?:[^@/\s]+@)?{LABEL}(?:\.{LABEL})*(?::\d{{1,5}})?$")
# Characters that never appear unescaped in a URL (RFC 3986): a link holding one is mistyped.
BAD_URL_CHARS = re.compile(r"[\s<>\"{}|\\^`]")
OTHER_SCHEMES = {"mailto"}


class Page(HTMLParser):
    """The ids a page defines and the URLs it links to, each with its line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[int, str]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)
            elif tag == "base" and name == "href":
                self.base = value
            elif name in ("href", "src") and tag not in ("base",):
                self.links.append((line, value))


def parse_page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def external_problem(url: str) -> str | None:
    """Why an external URL is malformed, or None. Never connects to anything."""
    if BAD_URL_CHARS.search(url):
        return "a character a URL cannot hold unescaped (a space, <, >, a quote, …)"
    parts = urlsplit(url)
    if parts.scheme in OTHER_SCHEMES:
        return None if parts.path else "nothing after the scheme"
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r} is not http or https"
    if not url.lower().startswith(parts.scheme + "://"):
        return "no // after the scheme"
    if not parts.netloc or not HOST.match(parts.netloc):
        return f"host {parts.netloc!r} is not a host name"
    if "." not in parts.hostname and parts.hostname != "localhost":
        return f"host {parts.hostname!r} has no domain"
    return None


# mdBook's own 404 page, whose links are not the book's: its `<base href="/">` makes even its heading's
# own `#document-not-found-404` anchor point at index.html, which has no such heading.
MDBOOKS_OWN = {Path("404.html")}


class Book:
    """The built book: every page's ids, parsed once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.pages: dict[Path, Page] = {p.resolve(): parse_page(p) for p in sorted(self.root.rglob("*.html"))}

    def target_problem(self, target: Path, fragment: str) -> str | None:
        """Why `target#fragment` does not resolve within the book, or None."""
        target = target.resolve()
        if not target.is_relative_to(self.root):
            return "leads out of the book"
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            return f"no file {target.relative_to(self.root)}"
        if fragment and target.suffix == ".html" and unquote(fragment) not in self.pages[target].ids:
            return f"no #{unquote(fragment)} in {target.relative_to(self.root)}"
        return None

    def problems(self) -> tuple[list[str], int]:
        found, checked = [], 0
        for path, page in self.pages.items():
            here = path.relative_to(self.root)
            if here in MDBOOKS_OWN:
                continue
            for line, url in page.links:
                checked += 1
                why = self.link_problem(path, page, url)
                if why:
                    found.append(f"{here}:{line}: {url}: {why}")
        return found, checked

    def link_problem(self, path: Path, page: Page, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return external_problem(url)
        if BAD_URL_CHARS.search(url):
            return "a character a URL cannot hold unescaped"
        base_dir = path.parent
        if page.base is not None:
            # A `<base href>` (mdBook's 404 page has one) is what every relative URL resolves against,
            # a `#fragment` alone included.
            base_dir = self.root / page.base.lstrip("/")
        elif not parts.path:
            if parts.fragment and unquote(parts.fragment) not in page.ids:
                return f"no #{unquote(parts.fragment)} on this page"
            return None
        if parts.path.startswith("/"):
            target = self.root / unquote(parts.path).lstrip("/")
        else:
            target = base_dir / unquote(parts.path)
        return self.target_problem(target, parts.fragment)


# Markdown: inline links [text](url "title"), images ![alt](url), autolinks <https://…> and
# reference definitions [name]: url.
INLINE = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]"  # [text], which may hold [brackets]
    r"\(\s*<?([^()\s>]*(?:\([^()\s]*\)[^()\s>]*)*)>?"  # (url, which may hold (parentheses)
    r"(?:\s+\"[^\"]*\")?\s*\)"  # "title")
)
AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
# A code span: backticks, anything but a blank line, the same number of backticks.
INLINE_CODE = re.compile(r"(`+)(?:(?!\1)[^\n]|\n(?!\s*\n))+?\1")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to `-`."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def blank(match: re.Match) -> str:
    """The matched text as spaces, its line breaks kept, so that offsets still give lines."""
    return re.sub(r"[^\n]", " ", match.group(0))


def markdown_links(text: str) -> tuple[list[tuple[int, str]], set[str]]:
    """The links of a Markdown text outside code, with their lines, and the slugs of its headings.
    A link's text may run over several lines, as it does in a wrapped paragraph."""
    prose, slugs, fence = [], set(), None
    for line in text.split("\n"):
        stripped = line.lstrip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker and (fence is None or stripped.startswith(fence)):
            fence = marker.group(1) if fence is None else None
            prose.append("")
            continue
        if fence is not None:
            prose.append("")
            continue
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slugs.add(github_slug(heading.group(1)))
        prose.append(line)
    body = INLINE_CODE.sub(blank, "\n".join(prose))

    def line_of(match: re.Match) -> int:
        return body.count("\n", 0, match.start()) + 1

    links = [(line_of(m), m.group(1)) for m in INLINE.finditer(body)]
    links += [(line_of(m), m.group(1)) for m in AUTOLINK.finditer(body)]
    links += [(line_of(m), m.group(1)) for m in re.finditer(DEFINITION.pattern, body, re.M)]
    return sorted(links), slugs


def markdown_problems(file: Path, src: Path, book: Book) -> tuple[list[str], int]:
    """Broken links of one Markdown file whose links into `src` (the book's chapters) go to `book`."""
    links, slugs = markdown_links(file.read_text(encoding="utf-8"))
    src = src.resolve()
    found = []
    for line, url in links:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            why = external_problem(url)
        elif not parts.path:
            why = None if unquote(parts.fragment) in slugs else f"no heading #{parts.fragment} in this file"
        else:
            target = (file.parent / unquote(parts.path)).resolve()
            if target.is_relative_to(src) and target.suffix == ".md":
                if not target.exists():
                    why = f"no chapter {target.relative_to(src)}"
                else:
                    built = book.root / target.relative_to(src).with_suffix(".html")
                    why = book.target_problem(built, parts.fragment)
                    if why and not built.exists():
                        why = f"{target.relative_to(src)} is not in SUMMARY.md (it was not built)"
            elif not target.exists():
                why = f"no file or folder {parts.path}"
            else:
                why = None
        if why:
            found.append(f"{file}:{line}: {url}: {why}")
    return found, len(links)


INCLUDE = re.compile(r"\{\{#(?:include|rustdoc_include)\s+([^}\s:]+)(?::([A-Za-z_][\w-]*))?\s*\}\}")


def include_problems(src: Path) -> tuple[list[str], int]:
    """Includes in the chapters under `src` whose file or anchor is missing."""
    found, checked = [], 0
    for chapter in sorted(src.rglob("*.md")):
        for number, line in enumerate(chapter.read_text(encoding="utf-8").split("\n"), 1):
            for match in INCLUDE.finditer(line):
                checked += 1
                path, anchor = match.group(1), match.group(2)
                target = chapter.parent / path
                if not target.is_file():
                    why = f"no file {path}"
                elif anchor and not (
                    re.search(rf"ANCHOR:\s*{re.escape(anchor)}(?![\w-])", text := target.read_text(encoding="utf-8"))
                    and re.search(rf"ANCHOR_END:\s*{re.escape(anchor)}(?![\w-])", text)
                ):
                    why = f"{path} marks no ANCHOR: {anchor} … ANCHOR_END: {anchor}"
                else:
                    continue
                found.append(f"{chapter}:{number}: {match.group(0)}: {why}")
    return found, checked


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("book", type=Path, help="the built book (mdBook's HTML output)")
    parser.add_argument("--markdown", type=Path, action="append", default=[], help="a Markdown file to check too")
    parser.add_argument("--src", type=Path,
                        help="the book's source folder: its includes are checked, and --markdown files link into it")
    args = parser.parse_args(argv)
    if args.markdown and args.src is None:
        parser.error("--markdown needs --src")
    if not (args.book / "index.html").exists():
        print(f"check-links: {args.book} has no index.html: build the book first", file=sys.stderr)
        return 2
    book = Book(args.book)
    found, checked = book.problems()
    if args.src is not None:
        more, count = include_problems(args.src)
        found += more
        checked += count
    for file in args.markdown:
        more, count = markdown_problems(file, args.src, book)
        found += more
        checked += count
    for line in found:
        print(line)
    pages = len(book.pages) + len(args.markdown)
    print(f"check-links: {checked} links in {pages} pages, {len(found)} broken", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
