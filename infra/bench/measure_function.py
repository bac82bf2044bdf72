"""Measures one function binary the way Lambda runs it: cold start (process start to first
response, SQS client and config included), then CPU time and peak memory over N warm requests,
against a moto SQS on loopback. Not a test: figures go into the issue notes.

  .venv/bin/python infra/bench/measure_function.py [--binary .aws-sam/build/GithubWebhookFunction/bootstrap] [-n 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import boto3  # noqa: E402
from conftest import free_port, wait_http  # noqa: E402
from runtime_api import Function  # noqa: E402
from signers import api_event, sample, sdk_signed  # noqa: E402

SECRET = "inlet-dev-github-secret"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default=str(ROOT / ".aws-sam" / "build" / "GithubWebhookFunction" / "bootstrap"))
    p.add_argument("-n", type=int, default=2000)
    p.add_argument("--cold", type=int, default=10, help="cold starts to time")
    args = p.parse_args()

    port = free_port()
    moto = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/moto-api/")
        sqs = boto3.client("sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        queue_url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        env = {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": SECRET, "AWS_ENDPOINT_URL": url, "RUST_LOG": "warn"}
        body = sample("github")
        event = api_event("v2", "github", sdk_signed("github", SECRET, body), body)
        tmp = Path(tempfile.mkdtemp())

        colds = []
        for i in range(args.cold):
            start = time.perf_counter()
            fn = Function(Path(args.binary), env, tmp / f"cold-{i}.log")
            assert fn.invoke(event)["statusCode"] == 202
            colds.append((time.perf_counter() - start) * 1000)
            fn.stop()

        fn = Function(Path(args.binary), env, tmp / "warm.log")
        assert fn.invoke(event)["statusCode"] == 202
        pid = fn.process.pid
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        latencies = []
        for _ in range(args.n):
            s = time.perf_counter()
            assert fn.invoke(event)["statusCode"] == 202
            latencies.append((time.perf_counter() - s) * 1000)
        cpu = cpu_seconds(pid) - cpu0
        wall = time.perf_counter() - t0
        rss = peak_rss_kib(pid)
        fn.stop()
        size = Path(args.binary).stat().st_size
        print(f"binary: {args.binary} ({size / 1e6:.1f} MB)")
        print(f"cold start to first 202 (process start, init, SQS send; {args.cold} runs): "
              f"median {statistics.median(colds):.1f} ms, max {max(colds):.1f} ms")
        print(f"warm: {args.n} requests, function CPU {cpu / args.n * 1e6:.0f} us/request "
              f"(user+sys, includes the SQS call's TLS-free HTTP to moto)")
        lat = sorted(latencies)
        print(f"warm round trip through the Runtime API harness and moto: median {statistics.median(lat):.2f} ms, "
              f"p99 {lat[int(len(lat) * 0.99) - 1]:.2f} ms ({args.n / wall:.0f} req/s, bound by moto and the Python harness)")
        print(f"peak RSS: {rss / 1024:.1f} MiB")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
