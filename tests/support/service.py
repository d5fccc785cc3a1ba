"""A real ``smart-routing serve`` process for tests that kill and restart the service."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """Starts the service on a given database; ``kill`` is SIGKILL, ``stop`` is SIGTERM."""

    def __init__(self, mongodb_uri: str, data_dir: Path, **settings: str):
        self.environment = {
            key: value for key, value in os.environ.items()
            if not key.startswith("SR_") and key != "MONGODB_URI"
        }
        self.environment.update({
            "MONGODB_URI": mongodb_uri,
            "SR_MONGODB_DATABASE": f"proc_{secrets.token_hex(4)}",
            "SR_DATA_DIR": str(data_dir),
            "SR_SECRET_KEY": "process-test-secret-of-at-least-32-characters",
            "SR_ADMIN_EMAIL": ADMIN_EMAIL,
            "SR_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "SR_DEMO_BOT": "false",
            "SR_LOG_LEVEL": "WARNING",
            "SR_SWEEP_SECONDS": "0.2",
            # all its visitors come from 127.0.0.1
            "SR_WEBCHAT_SOCKETS_PER_ADDRESS": "100000", "SR_WEBCHAT_OPENS_PER_MINUTE": "100000",
            "SR_WEBCHAT_MESSAGES_PER_MINUTE": "100000",
            "PYTHONUNBUFFERED": "1",
            **settings,
        })
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.lines: list[str] = []
        self._token: str | None = None

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "serve", "--port", "0"],
            env=self.environment, cwd=ROOT, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        ready = threading.Event()

        def read(process: subprocess.Popen[str]) -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.lines.append(line.rstrip())
                if found := re.search(r"listening on (\S+)", line):
                    self.url = found.group(1)
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, args=(self.process,), daemon=True)
        self._reader.start()
        if not ready.wait(timeout) or self.process.poll() is not None:
            raise RuntimeError("the service did not start:\n" + "\n".join(self.lines))
        self._token = None
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._release()

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._release()
        return self.process.returncode

    def _release(self) -> None:
        """The process is gone: let the reader finish and close the pipe."""
        self._reader.join(timeout=5)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        if self._token is None:
            self._token = self._call("POST", "/api/auth/login",
                                     {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                                     None)["token"]
        return self._call(method, path, body, self._token)

    def _call(self, method: str, path: str, body: Any, token: str | None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.url + path, method=method, headers=headers,
            data=None if body is None else json.dumps(body).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None
