"""Start a throw-away service for a benchmark (its own embedded mongod, or a database
another service already runs), and stop it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ADMIN = ("bench@example.com", "bench-password-1")
DATABASE = "smart_routing_bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    """A running ``smart-routing serve``: where to reach it and the database it uses."""

    url: str
    mongodb_uri: str
    database: str
    pid: int
    output: list[str] = field(default_factory=list)  # what it printed, drained as it goes


@contextlib.contextmanager
def running_service(server: str = "hypercorn", mongodb_uri: str | None = None,
                    **env: str) -> Iterator[Service]:
    """A fresh ``smart-routing serve``; with ``mongodb_uri`` it joins that database
    instead of starting its own mongod. ``env`` adds or overrides ``SR_*`` settings."""
    data_dir = Path(tempfile.mkdtemp(prefix="sr-bench-"))
    mongod_port = free_port()
    uri = mongodb_uri or f"mongodb://127.0.0.1:{mongod_port}/?directConnection=true"
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("SR_") and key != "MONGODB_URI"}
    environment.update({
        "SR_DATA_DIR": str(data_dir),
        "SR_EMBEDDED_MONGODB_PORT": str(mongod_port),
        "SR_MONGODB_DATABASE": DATABASE,
        "SR_SECRET_KEY": "bench-secret-key-of-at-least-32-characters",
        "SR_PORT": "0",
        "SR_SERVER": server,
        "SR_ADMIN_EMAIL": ADMIN[0],
        "SR_ADMIN_PASSWORD": ADMIN[1],
        "SR_ARGON2_MEMORY_KIB": "1024",
        "SR_DEMO_BOT": "0",
        "SR_BENCH_PROBE": "1",
        "SR_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # the benchmarks' visitors all come from 127.0.0.1, by thousands
        "SR_WEBCHAT_SOCKETS_PER_ADDRESS": "100000", "SR_WEBCHAT_OPENS_PER_MINUTE": "100000",
        "SR_WEBCHAT_MESSAGES_PER_MINUTE": "100000",
        **env,
    })
    if mongodb_uri:
        environment["MONGODB_URI"] = mongodb_uri
    process = subprocess.Popen(
        [sys.executable, "-m", "bots.cli", "serve"], env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    listening = threading.Event()

    def drain() -> None:  # keep reading, so a chatty service never blocks on its pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            if re.search(r"listening on (http://\S+)", line):
                listening.set()
        listening.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not listening.wait(90) or process.poll() is not None:
            raise RuntimeError("the service did not start:\n" + "\n".join(output[-20:]))
        url = next(found.group(1) for line in output
                   if (found := re.search(r"listening on (http://\S+)", line)))
        yield Service(url=url, mongodb_uri=uri, database=DATABASE, pid=process.pid,
                      output=output)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        reader.join(timeout=5)
        if not mongodb_uri:  # its own database: a million events is gigabytes of disk
            shutil.rmtree(data_dir, ignore_errors=True)
