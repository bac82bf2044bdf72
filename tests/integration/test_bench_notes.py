"""The benchmark's note on the spool's file system (infra/bench/bench.py): `inlet serve`'s figures on
ext4 without a journal depend on what was deleted there in the last few minutes, so the bench says
when the spool is on one. Checked against a made-up /proc, so that it does not depend on this machine."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "bench"))
import bench  # noqa: E402


def fake_proc(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    (proc / "fs" / "ext4" / "vdz").mkdir(parents=True)
    (proc / "fs" / "ext4" / "loop9").mkdir(parents=True)
    (proc / "fs" / "jbd2" / "loop9-8").mkdir(parents=True)
    (proc / "mounts").write_text(
        "/dev/vdz / ext4 rw,relatime 0 0\n"
        "proc /proc proc rw 0 0\n"
        "/dev/loop9 /data ext4 rw,relatime 0 0\n"
        "tmpfs /data/scratch tmpfs rw 0 0\n"
        "/dev/vdz /srv/with\\040space ext4 rw 0 0\n")
    return proc


def test_only_an_unjournaled_ext4_is_named(tmp_path):
    proc = fake_proc(tmp_path)
    assert bench.unjournaled_ext4(Path("/tmp/inlet-bench-x"), proc) == "vdz"
    assert bench.unjournaled_ext4(Path("/srv/with space/spool"), proc) == "vdz"
    # journaled ext4, and another file system mounted inside it: no note
    assert bench.unjournaled_ext4(Path("/data/spool"), proc) is None
    assert bench.unjournaled_ext4(Path("/data/scratch/spool"), proc) is None
    assert bench.unjournaled_ext4(Path("/proc/self"), proc) is None


def test_the_note_names_the_device_and_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "unjournaled_ext4", lambda path: "vdz")
    note = bench.serve_filesystem(tmp_path)
    assert "ext4 without a journal (vdz)" in note and "quiet minutes" in note
    assert bench.serve_report([], note)[-1] == note
    monkeypatch.setattr(bench, "unjournaled_ext4", lambda path: None)
    assert bench.serve_filesystem(tmp_path) is None
    assert "Note" not in "\n".join(bench.serve_report([], None))
