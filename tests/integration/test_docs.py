"""The book's link checker (infra/scripts/check-links.py) on tiny built books: it passes a book whose
links all resolve, and fails, naming the page, line and link, on each kind of broken link. It builds
nothing and reaches no network: the book itself is built and checked by infra/scripts/docs."""
from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "scripts" / "check-links.py"

spec = importlib.util.spec_from_file_location("check_links", SCRIPT)
check_links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_links)


def page(body: str, head: str = "", css: str = "css/book.css") -> str:
    """A page whose body starts on line 4."""
    return f"<!DOCTYPE html>\n<html><head>{head}<link rel=\"stylesheet\" href=\"{css}\"></head>\n<body>\n{body}\n</body></html>\n"


GOOD_PAGES = {
    "index.html": page('<h1 id="inlet">Inlet</h1>\n<a href="senders.html">Senders</a>\n'
                       '<a href="deploy/sam.html#secrets-and-rotation">rotation</a>\n<a href="#inlet">top</a>\n'
                       '<a href="https://cloudevents.io">CloudEvents</a> <a href="mailto:ops@example.com">ops</a>\n'
                       '<script src="book.js"></script>'),
    "senders.html": page('<h1 id="supported-senders">Senders</h1>\n<h2 id="keys-the-sender-publishes">Keys</h2>\n'
                         '<a href="index.html#inlet">back</a> <a href="./">home</a> <a href="#">top</a>'),
    "deploy/sam.html": page('<h2 id="secrets-and-rotation">Secrets</h2>\n<a href="../senders.html#keys-the-sender-publishes">'
                            'keys</a>\n<a href="https://aws.amazon.com/lambda/pricing/">Lambda</a>', css="../css/book.css"),
    "moved.html": page('<a href="senders.html">senders</a>', head='<base href="/">'),
    "css/book.css": "body {}\n",
    "book.js": "\n",
}


def build(tmp_path: Path, changes: dict[str, str] | None = None) -> Path:
    """A built book under tmp_path/book: the good pages, with `changes` laid over them."""
    book = tmp_path / "book"
    for name, text in {**GOOD_PAGES, **(changes or {})}.items():
        (book / name).parent.mkdir(parents=True, exist_ok=True)
        (book / name).write_text(text)
    return book


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """External links are checked for their form only: any connection attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the link checker tried to reach the network")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_mdbooks_own_404_page_is_not_checked(tmp_path):
    """Its `<base href="/">` sends its heading's own anchor to index.html, which mdBook does, not us."""
    book = build(tmp_path, {"404.html": page('<h1 id="document-not-found-404"><a href="#document-not-found-404">'
                                            '404</a></h1>', head='<base href="/">')})
    assert check_links.Book(book).problems() == ([], 16)


def test_a_book_whose_links_all_resolve_passes(tmp_path):
    book = build(tmp_path)
    found, checked = check_links.Book(book).problems()
    assert found == []
    assert checked == 16  # every href and src of the four pages (their stylesheets included)


@pytest.mark.parametrize("name, changes, expected", [
    ("a page that does not exist",
     {"index.html": GOOD_PAGES["index.html"].replace('href="senders.html"', 'href="sendres.html"')},
     "index.html:5: sendres.html: no file sendres.html"),
    ("an anchor the target page lacks",
     {"index.html": GOOD_PAGES["index.html"].replace("#secrets-and-rotation", "#rotation")},
     "index.html:6: deploy/sam.html#rotation: no #rotation in deploy/sam.html"),
    ("an anchor this page lacks",
     {"senders.html": GOOD_PAGES["senders.html"].replace('href="#"', 'href="#keys"')},
     "senders.html:6: #keys: no #keys on this page"),
    ("a link up out of a sub-folder that misses",
     {"deploy/sam.html": GOOD_PAGES["deploy/sam.html"].replace("../senders.html", "senders.html")},
     "deploy/sam.html:5: senders.html#keys-the-sender-publishes: no file deploy/senders.html"),
    ("a link out of the book",
     {"senders.html": GOOD_PAGES["senders.html"].replace('href="./"', 'href="../README.md"')},
     "senders.html:6: ../README.md: leads out of the book"),
    ("a missing script",
     {"index.html": GOOD_PAGES["index.html"].replace("book.js", "book-1a2b.js")},
     "index.html:9: book-1a2b.js: no file book-1a2b.js"),
    ("a fragment under a <base>, which resolves against the base",
     {"moved.html": GOOD_PAGES["moved.html"].replace('href="senders.html"', 'href="#supported-senders"')},
     "moved.html:4: #supported-senders: no #supported-senders in index.html"),
    ("a page under a <base> that resolves against it",
     {"moved.html": GOOD_PAGES["moved.html"].replace('href="senders.html"', 'href="deploy/senders.html"')},
     "moved.html:4: deploy/senders.html: no file deploy/senders.html"),
    ("an external link with no host",
     {"index.html": GOOD_PAGES["index.html"].replace("https://cloudevents.io", "https:/cloudevents.io")},
     "index.html:8: https:/cloudevents.io: no // after the scheme"),
    ("an external link with a space",
     {"index.html": GOOD_PAGES["index.html"].replace("https://cloudevents.io", "https://cloud events.io")},
     "index.html:8: https://cloud events.io: a character a URL cannot hold unescaped (a space, <, >, a quote, …)"),
    ("a scheme that is not the web's",
     {"index.html": GOOD_PAGES["index.html"].replace("https://cloudevents.io", "htps://cloudevents.io")},
     "index.html:8: htps://cloudevents.io: scheme 'htps' is not http or https"),
])
def test_each_kind_of_broken_link_is_reported(tmp_path, name, changes, expected):
    found, _ = check_links.Book(build(tmp_path, changes)).problems()
    assert found == [expected], name


README = """# Inlet

See [the senders](docs/src/senders.md), [keys](docs/src/senders.md#keys-the-sender-publishes) and the
[secrets and
rotation](docs/src/deploy/sam.md#secrets-and-rotation) page, the [tour](#a-five-minute-tour), the
[scripts](infra/scripts) and <https://cloudevents.io>.

## A five-minute tour

```sh
echo "[not a link](docs/src/nowhere.md)"
```

Nor is `[this](docs/src/nowhere.md)`.

[ref]: docs/src/index.md
"""


def markdown(tmp_path: Path, text: str) -> list[str]:
    book = build(tmp_path)
    src = tmp_path / "docs" / "src"
    for chapter in ("senders.md", "deploy/sam.md", "index.md", "unlisted.md"):
        (src / chapter).parent.mkdir(parents=True, exist_ok=True)
        (src / chapter).write_text("# A chapter\n")
    (tmp_path / "infra" / "scripts").mkdir(parents=True)
    readme = tmp_path / "README.md"
    readme.write_text(text)
    found, _ = check_links.markdown_problems(readme, src, check_links.Book(book))
    return [line.removeprefix(f"{readme}:") for line in found]


def test_the_readmes_links_into_the_book_resolve_in_the_built_pages(tmp_path):
    assert markdown(tmp_path, README) == []


@pytest.mark.parametrize("old, new, expected", [
    ("senders.md#keys-the-sender-publishes", "senders.md#keys", "3: docs/src/senders.md#keys: no #keys in senders.html"),
    ("docs/src/senders.md)", "docs/src/sender.md)", "3: docs/src/sender.md: no chapter sender.md"),
    ("docs/src/senders.md)", "docs/src/unlisted.md)", "3: docs/src/unlisted.md: unlisted.md is not in SUMMARY.md (it was not built)"),
    ("sam.md#secrets-and-rotation", "sam.md#secrets",
     "4: docs/src/deploy/sam.md#secrets: no #secrets in deploy/sam.html"),
    ("(#a-five-minute-tour)", "(#a-tour)", "5: #a-tour: no heading #a-tour in this file"),
    ("(infra/scripts)", "(infra/script)", "6: infra/script: no file or folder infra/script"),
    ("<https://cloudevents.io>", "<https://cloudevents>", "6: https://cloudevents: host 'cloudevents' has no domain"),
    ("[ref]: docs/src/index.md", "[ref]: docs/src/contents.md", "16: docs/src/contents.md: no chapter contents.md"),
])
def test_the_readmes_broken_links_are_reported_with_their_lines(tmp_path, old, new, expected):
    assert README.count(old) == 1
    assert markdown(tmp_path, README.replace(old, new)) == [expected]


def test_the_command_fails_on_a_broken_link_and_passes_a_sound_book(tmp_path):
    good = build(tmp_path / "good")
    run = subprocess.run([sys.executable, str(SCRIPT), str(good)], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (0, ""), run
    assert "0 broken" in run.stderr
    bad = build(tmp_path / "bad", {"senders.html": GOOD_PAGES["senders.html"].replace("#inlet", "#top")})
    run = subprocess.run([sys.executable, str(SCRIPT), str(bad)], capture_output=True, text=True)
    assert run.returncode == 1, run
    assert run.stdout == "senders.html:6: index.html#top: no #top in index.html\n"
    assert "1 broken" in run.stderr
    run = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "unbuilt")], capture_output=True, text=True)
    assert run.returncode == 2 and "build the book first" in run.stderr, run


@pytest.mark.parametrize("readme, expected", [
    ("<!-- ANCHOR: commands -->\ncargo run\n<!-- ANCHOR_END: commands -->\n", None),
    ("<!-- ANCHOR: commands-extra -->\ncargo run\n<!-- ANCHOR_END: commands-extra -->\n",
     "../README.md marks no ANCHOR: commands … ANCHOR_END: commands"),
    ("<!-- ANCHOR: commands -->\ncargo run\n", "../README.md marks no ANCHOR: commands … ANCHOR_END: commands"),
    (None, "no file ../README.md"),
])
def test_an_include_of_an_anchor_the_file_does_not_mark_is_reported(tmp_path, readme, expected):
    """mdBook includes nothing, and says nothing, for a missing anchor: the checker says it."""
    src = tmp_path / "docs"
    src.mkdir()
    (src / "intro.md").write_text("# Inlet\n\n{{#include ../README.md:commands}}\n")
    if readme is not None:
        (tmp_path / "README.md").write_text(readme)
    found, checked = check_links.include_problems(src)
    assert checked == 1
    assert found == ([] if expected is None else [f"{src / 'intro.md'}:3: {{{{#include ../README.md:commands}}}}: {expected}"])
