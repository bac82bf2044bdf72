"""The command line's conventions, as scripts rely on them: help on every command, completion
scripts, one error format, "did you mean", and exit statuses 0 (done), 1 (it ran and the answer
was a failure) and 2 (it could not run)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import ROOT, free_port

CLI = ROOT / "target" / "debug" / "inlet"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("INLET_")})


def commands() -> list[list[str]]:
    """Every command and subcommand, read from the help itself."""
    def listed(*path: str) -> list[str]:
        text = cli(*path, "--help").stdout
        block = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0] if "Commands:\n" in text else ""
        return [m for m in re.findall(r"^  (\S+)", block, re.M) if m != "help"]

    top = listed()
    assert {"serve", "send", "sign", "event", "samples", "sources", "replay", "dev-files", "endpoints",
            "publish", "deliveries", "completions"} <= set(top), top
    found = [[c] for c in top]
    for group in ("endpoints", "deliveries"):
        found += [[group, sub] for sub in listed(group)]
    return found


@pytest.mark.parametrize("words", commands(), ids=" ".join)
def test_every_command_has_help(words):
    out = cli(*words, "--help")
    assert out.returncode == 0 and out.stdout.startswith(tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")), out
    assert f"Usage: inlet {' '.join(words)}" in out.stdout, out.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completions_name_the_commands(shell):
    out = cli("completions", shell)
    assert out.returncode == 0 and "serve" in out.stdout and "--event" in out.stdout, out.stderr


def test_usage_errors_are_status_2_with_a_suggestion():
    for words, said in [(["sned", "stripe"], "a similar subcommand exists: 'send'"),
                        (["send", "strpe"], "did you mean `stripe`?"),
                        (["serve", "--read-timeout", "0"], "--read-timeout"),
                        (["send", "stripe", "--frobnicate"], "unexpected argument '--frobnicate'")]:
        out = cli(*words)
        assert out.returncode == 2 and out.stderr.startswith("error: ") and said in out.stderr, out
        assert out.stdout == ""


def test_a_server_it_cannot_reach_is_status_2():
    # Nothing listens on a free port: the request cannot be made (a refused one is status 1,
    # test_local's wrong-secret case).
    out = cli("send", "stripe", "--url", f"http://127.0.0.1:{free_port()}/webhooks/stripe")
    assert out.returncode == 2 and out.stderr.startswith("error: "), out
