"""The library's layers (docs/src/layout.md, shared/src/lib.rs): every `crate::` path in
shared/src names a module of the same layer or of one below it, never one above, so the layers
have no import cycles between them; inside the core the same holds file by file, so that the
request, the scheme, the verifier and the normalizer import in one direction only.

The unit tests' code (`#[cfg(test)]` modules, shared/src/tests/, test-only files) may reach any
layer: a test of the core delivers through the pipeline. Comments are not imports. The checker is
checked too: on a snippet of each kind of upward import it must fail, naming the file and path.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "shared" / "src"

# Bottom first: a module may import from its own rank and the ranks below it.
LAYERS = [
    {"core", "logging"},
    {"config"},
    {"catalogue"},
    {"ports", "xray"},
    {"adapters"},
    {"app"},
    {"outbound"},
    {"runtime"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

# Inside the core, file by file (a folder counts as one): bottom first.
CORE = [
    {"json", "outcome", "key_url", "request", "event"},
    {"envelope"},
    {"response"},
    {"disposition"},
    {"scheme"},
    {"verify"},
    {"handshake"},
    {"normalize"},
]
CORE_RANK = {name: rank for rank, names in enumerate(CORE) for name in names}

# Test-only files, declared behind #[cfg(test)] (or cfg(all(test, …))) by their parent.
TEST_FILES = {"tests", "testing"}
CRATE_PATH = re.compile(r"\bcrate::(\w+)(?:::(\w+))?")
TEST_MODULE = re.compile(r"#\[cfg\((?:all\()?test\b[^\]]*\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")


def without_tests_and_comments(text: str) -> str:
    """The code with each `#[cfg(test)] mod x { … }` block and every `//` comment taken out."""
    text = re.sub(r"//[^\n]*", "", text)
    out, at = [], 0
    for m in TEST_MODULE.finditer(text):
        if m.start() < at:
            continue
        out.append(text[at:m.start()])
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        at = i
    out.append(text[at:])
    return "".join(out)


def place(path: Path) -> tuple[str, str | None]:
    """(top-level module, core file) of a file under shared/src."""
    parts = path.relative_to(SRC).with_suffix("").parts
    top = parts[0]
    core = parts[1] if top == "core" and len(parts) > 1 and parts[1] != "mod" else None
    return top, core


def violations(path: Path, text: str) -> list[str]:
    top, core = place(path)
    found = []
    for m in CRATE_PATH.finditer(without_tests_and_comments(text)):
        target, inner = m.group(1), m.group(2)
        if target not in RANK:
            continue  # a re-export at the crate's root (`crate::Source`) or a macro path
        if RANK[target] > RANK.get(top, 0):
            found.append(f"{path.relative_to(ROOT)}: {m.group(0)} is above {top}")
        elif top == target == "core" and core and inner in CORE_RANK and CORE_RANK[inner] > CORE_RANK[core]:
            found.append(f"{path.relative_to(ROOT)}: {m.group(0)} is above core::{core}")
    return found


def library_files() -> list[Path]:
    files = []
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC).parts
        if rel[0] in TEST_FILES or path.stem in TEST_FILES or path.name == "lib.rs":
            continue
        files.append(path)
    return files


def test_every_module_of_the_library_is_in_a_layer():
    tops = {path.relative_to(SRC).parts[0].removesuffix(".rs") for path in library_files()}
    assert tops == set(RANK), f"a layer in LAYERS and docs/src/layout.md for: {tops ^ set(RANK)}"
    cores = {place(p)[1] for p in library_files() if place(p)[1]}
    assert cores == set(CORE_RANK), f"a rank in CORE for: {cores ^ set(CORE_RANK)}"


def test_no_module_imports_from_a_layer_above_it():
    found = [v for path in library_files() for v in violations(path, path.read_text())]
    assert not found, "imports that run up the layers:\n" + "\n".join(found)


def test_the_checker_finds_each_kind_of_upward_import():
    core_scheme = SRC / "core" / "scheme.rs"
    ports = SRC / "ports" / "queue" / "mod.rs"
    assert violations(ports, "use crate::adapters::local::SpoolQueue;") == [
        "shared/src/ports/queue/mod.rs: crate::adapters::local is above ports"]
    assert violations(core_scheme, "fn f() { crate::catalogue::senders::x::crc_answer() }") == [
        "shared/src/core/scheme.rs: crate::catalogue::senders is above core"]
    assert violations(core_scheme, "use crate::core::verify::engine::Signing;") == [
        "shared/src/core/scheme.rs: crate::core::verify is above core::scheme"]
    # Downward, sideways within a layer, in a test module or in a comment: none.
    assert violations(core_scheme, "use crate::core::request::Signing;") == []
    assert violations(ports, "use crate::config::Env; use crate::xray::Segment;") == []
    assert violations(core_scheme, "// see crate::app::pipeline\n"
                                   "#[cfg(test)]\nmod tests {\n    use crate::app::pipeline::Pipeline;\n    fn f() { {} }\n}\n"
                                   "use crate::core::envelope::KeyBasis;") == []
    assert violations(core_scheme, "#[cfg(test)]\nmod tests { }\nuse crate::ports::queue::Message;") == [
        "shared/src/core/scheme.rs: crate::ports::queue is above core"]
