"""The ``smart-routing`` command as an operator runs it: serve with the embedded mongod,
refuse a second owner, stop cleanly, restart after a crash, add users, refuse bad settings."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from routing_core.store.embedded import free_port, mongod_binary

pytestmark = pytest.mark.slow

ADMIN = {"email": "admin@example.com", "password": "correct horse battery"}
SAY = {"text": "Hello"}
_script = Path(sys.executable).parent / "smart-routing"
COMMAND = [str(_script)] if _script.exists() else [sys.executable, "-m", "bots.cli"]
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def mongod_pids(dbpath: Path) -> list[int]:
    """Every live mongod whose command line names ``dbpath``, found through /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        if argv[0].endswith(b"mongod") and str(dbpath).encode() in argv and state != "Z":
            found.append(int(entry.name))
    return found


def call(url: str, method: str = "GET", body: Any = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _http.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Service:
    """One ``smart-routing serve`` process; its output is drained by a thread."""

    def __init__(self, environ: dict[str, str]):
        self.process = subprocess.Popen(
            [*COMMAND, "serve", "--port", "0"],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.url: str | None = None
        self._listening = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "listening on http://" in line and self.url is None:
                self.url = line.split("listening on ")[1].split()[0]
                self._listening.set()
        self.process.stdout.close()
        self._listening.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_listening(self, timeout: float = 60.0) -> str:
        assert self._listening.wait(timeout), "serve printed nothing in time:\n" + self.output
        assert self.url, f"serve exited ({self.process.poll()}):\n{self.output}"
        return self.url

    def login(self, credentials: dict[str, str] = ADMIN) -> str:
        status, body = call(f"{self.url}/api/auth/login", "POST", credentials)
        assert status == 200, (body, self.output)
        return str(body["token"])

    def stop(self, timeout: float = 20.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SR_") and name != "MONGODB_URI"
    }
    return inherited | {
        "SR_DATA_DIR": str(tmp_path / "var"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # where a generated secret key goes
        "SR_EMBEDDED_MONGODB_PORT": str(free_port()),
        "SR_ADMIN_EMAIL": ADMIN["email"],
        "SR_ADMIN_PASSWORD": ADMIN["password"],
        "SR_DEMO_BOT": "false",
        "SR_LOG_LEVEL": "WARNING",
        "SR_SCHEDULE_POLL_SECONDS": "0.5",
    }


@pytest.fixture
def dbpath(tmp_path: Path) -> Path:
    return (tmp_path / "var" / "mongodb").resolve()


@pytest.fixture
def serve(environ: dict[str, str], dbpath: Path) -> Iterator[Any]:
    """Starts services; whatever a failed test leaves running is killed, by its pid."""
    started: list[Service] = []

    def start(*, listening: bool = True, **extra: str) -> Service:
        service = Service(environ | extra)
        started.append(service)
        if listening:
            service.wait_listening()
        return service

    yield start
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()
    for pid in mongod_pids(dbpath):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def run(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def create_routing(url: str, token: str, reference: str) -> dict[str, Any]:
    body = {"name": reference, "reference": reference, "type": "start"}
    status, routing = call(f"{url}/api/smart-routings", "POST", body, token)
    assert status == 201, routing
    return dict(routing)


def references(url: str, token: str) -> list[str]:
    status, listing = call(f"{url}/api/smart-routings", token=token)
    assert status == 200, listing
    return [item["reference"] for item in listing["items"]]


def test_serve_answers_refuses_a_second_owner_adds_users_and_stops_cleanly(
    serve: Any, environ: dict[str, str], dbpath: Path
) -> None:
    service = serve()
    url = service.url
    assert url is not None and not url.endswith(":0")
    assert call(f"{url}/healthz") == (200, {"status": "ok"})
    assert call(f"{url}/readyz")[0] == 200
    token = service.login()
    assert len(mongod_pids(dbpath)) == 1
    # the embedded mongod has no users: it listens on loopback only, and nothing widens it
    argv = (Path("/proc") / str(mongod_pids(dbpath)[0]) / "cmdline").read_bytes().split(b"\0")
    assert argv[argv.index(b"--bind_ip") + 1] == b"127.0.0.1" and b"--bind_ip_all" not in argv

    second = serve(listening=False)
    assert second.process.wait(30) != 0
    assert "another smart-routing process is using" in second.output, second.output
    assert call(f"{url}/readyz")[0] == 200  # the first one is unharmed
    assert service.login() != token

    added = run(environ, "user", "add", "--email", "agent@example.com",
                "--password", "s3cret-pw-of-agent")
    assert added.returncode == 0, added.stderr
    assert "agent@example.com" in added.stdout
    service.login({"email": "agent@example.com", "password": "s3cret-pw-of-agent"})
    agent = run(environ, "user", "add", "--email", "desk@example.com", "--password",
                "s3cret-pw-of-agent", "--agent", "--queue", "sales")
    assert agent.returncode == 0 and "roles agent" in agent.stdout, agent.stderr
    for arguments, words in (
        (["--email", "not an e-mail", "--password", "s3cret-pw-of-agent"], "e-mail"),
        (["--email", "x@example.com", "--password", "s3cret-pw-of-agent", "--role", "wizard"],
         "wizard"),
        (["--email", "agent@example.com", "--password", "s3cret-pw-of-agent"], "agent@example.com"),
        (["--email", "y@example.com", "--password", "s3cret-pw-of-agent", "--agent",
          "--capacity", "0"], "from 1 to 100"),
    ):
        refused = run(environ, "user", "add", *arguments)
        assert refused.returncode == 2, (arguments, refused.stdout)
        lines = refused.stderr.strip().splitlines()
        assert words in lines[-1] and "Traceback" not in refused.stderr, refused.stderr
    helped = run(environ, "user", "add", "--help")
    assert "admin (every permission), agent" in " ".join(helped.stdout.split())

    assert service.stop() == 0, service.output
    assert mongod_pids(dbpath) == []
    assert "smart-routing stopped" in service.output


def leave_a_stale_mongod(dbpath: Path, port: int) -> subprocess.Popen[bytes]:
    """What a crash can also leave behind: a mongod still serving the data directory."""
    stale = subprocess.Popen(
        [
            str(mongod_binary()),
            "--dbpath",
            str(dbpath),
            "--port",
            str(port),
            "--bind_ip",
            "127.0.0.1",
            "--replSet",
            "rs0",
            "--logpath",
            str(dbpath.parent / "stale.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (dbpath.parent / "mongod.pid").write_text(str(stale.pid))
    threading.Thread(target=stale.wait, daemon=True).start()  # reaped once serve stops it
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return stale
        assert time.monotonic() < deadline and stale.poll() is None, "stale mongod did not start"
        time.sleep(0.1)


@pytest.mark.parametrize("crash", ["service", "service+mongod", "stale mongod"])
def test_serve_starts_again_after_a_crash_with_the_data_kept(
    serve: Any, environ: dict[str, str], dbpath: Path, crash: str
) -> None:
    service = serve()
    create_routing(service.url, service.login(), "kept")
    (mongod,) = mongod_pids(dbpath)
    service.process.kill()  # its mongod gets SIGTERM from the kernel (parent-death signal)
    if crash != "service":
        os.kill(mongod, signal.SIGKILL)
    service.process.wait(10)
    stale = None
    if crash == "stale mongod":
        stale = leave_a_stale_mongod(dbpath, int(environ["SR_EMBEDDED_MONGODB_PORT"]))

    again = serve()
    assert call(f"{again.url}/readyz")[0] == 200
    assert references(again.url, again.login()) == ["kept"]
    assert len(mongod_pids(dbpath)) == 1
    if stale is not None:
        assert stale.pid not in mongod_pids(dbpath)
    assert again.stop() == 0, again.output
    assert mongod_pids(dbpath) == []


def test_a_pending_schedule_survives_a_restart(serve: Any) -> None:
    service = serve()
    url, token = service.url, service.login()
    routing = create_routing(url, token, "scheduled")
    status, version = call(
        f"{url}/api/smart-routings/{routing['id']}/versions", "POST", {"name": "v1"}, token
    )
    assert status == 201, version
    vid = version["id"]
    action = {"type": "message", "params": SAY, "after": {"action": version["tree"]["start"]}}
    assert call(f"{url}/api/versions/{vid}/actions", "POST", action, token)[0] == 201
    at = datetime.now(UTC) + timedelta(seconds=3)
    status, body = call(f"{url}/api/versions/{vid}/schedule", "PUT", {"at": at.isoformat()}, token)
    assert status == 200, body
    service.process.kill()  # down before the time comes, however loaded the machine is
    service.process.wait(10)
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.2)

    restarted_at = datetime.now(UTC)
    again = serve()
    token = again.login()
    deadline = time.monotonic() + 20
    while call(f"{again.url}/api/versions/{vid}", token=token)[1]["status"] != "production":
        assert time.monotonic() < deadline, "the missed schedule did not run at start-up"
        time.sleep(0.1)
    query = f"target={vid}&action=version.scheduled_production"
    (entry,) = call(f"{again.url}/api/audit?{query}", token=token)[1]["items"]
    assert datetime.fromisoformat(entry["at"]) >= restarted_at  # run by the new process
    assert entry["details"]["late_by_seconds"] > 0
    assert again.stop() == 0


@pytest.mark.parametrize(
    ("variable", "value"), [("SR_PORT", "abc"), ("SR_TIMEZONE", "Nowhere/Atlantis")]
)
def test_a_bad_setting_exits_2_with_one_line_naming_it(
    environ: dict[str, str], variable: str, value: str
) -> None:
    result = run(environ | {variable: value}, "serve")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_the_secret_key_is_kept_apart_long_enough_and_the_one_that_sealed_the_data(
    serve: Any, environ: dict[str, str], tmp_path: Path
) -> None:
    service = serve()
    key_file = tmp_path / "config" / "smart-routing" / "secret_key"
    assert f"generated a secret key in {key_file}" in service.output, service.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(key_file.read_text()) >= 32
    assert not list((tmp_path / "var").rglob("secret_key"))  # a copy of the data lacks it
    token = service.login()
    routing = create_routing(str(service.url), token, "shop")
    body = {"name": "Shop", "channel": "messenger", "address": "page-1",
            "start_routing": routing["id"],
            "credentials": {"page_access_token": "EAA-token", "app_secret": "app-secret",
                            "verify_token": "verify-me"}}
    status, created = call(f"{service.url}/api/entry-points", "POST", body, token)
    assert status == 201, created
    assert service.stop() == 0
    again = serve()  # the same key file: starts, says nothing about generating
    assert "generated a secret key" not in again.output
    again.login()  # it opened the credentials (a stop right after start can hang: see note)
    assert again.stop() == 0

    for key, words in (("too short", "SR_SECRET_KEY: must have at least 32 characters"),
                       ("another key of more than thirty-two characters",
                        "were sealed with another secret key than SR_SECRET_KEY: set "
                        "SR_SECRET_KEY or SR_SECRET_KEY_FILE to the key that sealed them")):
        refused = serve(listening=False, SR_SECRET_KEY=key)
        assert refused.process.wait(60) == 2, refused.output
        assert words in refused.output and "Traceback" not in refused.output, refused.output
        assert len(refused.output.strip().splitlines()) == 1, refused.output
    moved = tmp_path / "elsewhere"
    moved.write_text(key_file.read_text())
    key_file.unlink()
    shared = serve(SR_SECRET_KEY_FILE=str(moved))  # the file named by the setting
    assert "generated a secret key" not in shared.output
    shared.login()
    assert shared.stop() == 0
