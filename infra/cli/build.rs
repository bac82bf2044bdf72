//! Embeds the senders' samples (`infra/samples/<source>/`) in the CLI, so `inlet send <source>`
//! works from any directory: one `Folder` per source with its `expect.json` and every other file.
//! A `:` in an event's name (Jira's `jira:issue_created`) is written `%3A` in its file's name, which
//! Windows could not check out otherwise; the embedded name has the `:`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    paths
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let samples = Path::new(&manifest).join("../samples");
    println!("cargo:rerun-if-changed={}", samples.display());
    let mut out = String::from("pub static FOLDERS: &[Folder] = &[\n");
    for folder in sorted(&samples).into_iter().filter(|p| p.is_dir()) {
        let source = folder
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name");
        let expect = folder.join("expect.json");
        if !expect.is_file() {
            panic!("{} has no expect.json", folder.display());
        }
        writeln!(
            out,
            "    Folder {{ source: {source:?}, expect: include_str!({:?}), files: &[",
            expect.canonicalize().expect("expect.json")
        )
        .expect("a String takes writes");
        for file in sorted(&folder) {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 name");
            if name == "expect.json" || !file.is_file() {
                continue;
            }
            let path = file.canonicalize().expect("a sample file");
            let name = name.replace("%3A", ":");
            writeln!(
                out,
                "        File {{ name: {name:?}, text: include_str!({path:?}) }},"
            )
            .expect("a String takes writes");
        }
        out.push_str("    ] },\n");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("samples.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
