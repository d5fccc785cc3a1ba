"""Start a throw-away service (its own embedded mongod) for a benchmark, and stop it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ADMIN = ("bench@example.com", "bench-password-1")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_service(server: str = "hypercorn", **env: str) -> Iterator[str]:
    """Yield the base URL of a fresh ``smart-routing serve``; stop it afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="sr-bench-"))
    environment = {
        **os.environ,
        "SR_DATA_DIR": str(data_dir),
        "SR_EMBEDDED_MONGODB_PORT": str(free_port()),
        "SR_PORT": "0",
        "SR_SERVER": server,
        "SR_ADMIN_EMAIL": ADMIN[0],
        "SR_ADMIN_PASSWORD": ADMIN[1],
        "SR_DEMO_BOT": "0",
        "SR_BENCH_PROBE": "1",
        "SR_LOG_LEVEL": "WARNING",
        **env,
    }
    environment.pop("MONGODB_URI", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bots.cli", "serve"], env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        for line in process.stdout:
            if match := re.search(r"listening on (http://\S+)", line):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
        else:
            raise RuntimeError("the service exited before listening")
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
