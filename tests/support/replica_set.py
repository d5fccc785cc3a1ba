"""A three-member MongoDB replica set on loopback, from the embedded ``mongod`` binary: what
``docs/deploy.md`` tells operators to run, on one machine, for the failover test and the
replica-set benchmark.

Elections are made quick (heartbeats every 0.5 s, a primary unheard of for 1 s is
replaced) so that a failover costs seconds in CI; production keeps MongoDB's defaults,
which change how long a failover lasts, not what the service must survive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from routing_core.store.embedded import free_port, mongod_binary

NAME = "rs-failover"


class ReplicaSetError(Exception):
    pass


class ReplicaSet:
    def __init__(self, root: Path, members: int = 3, cache_gb: float = 0.25):
        self.root = Path(root).resolve()
        self.ports = [free_port() for _ in range(members)]
        self.cache_gb = cache_gb
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * members

    @property
    def uri(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"mongodb://{hosts}/?replicaSet={NAME}"

    def start(self, timeout: float = 90.0) -> str:
        for index in range(len(self.ports)):
            self.start_member(index)
        first = self._direct(0)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    first.admin.command("replSetInitiate", {
                        "_id": NAME,
                        "members": [{"_id": index, "host": f"127.0.0.1:{port}"}
                                    for index, port in enumerate(self.ports)],
                        "settings": {"electionTimeoutMillis": 1000, "catchUpTimeoutMillis": 1000,
                                     "heartbeatIntervalMillis": 500},
                    })
                    break
                except PyMongoError as error:
                    if time.monotonic() > deadline:
                        raise ReplicaSetError(f"replSetInitiate failed: {error}") from None
                    time.sleep(0.2)
        finally:
            first.close()
        self.wait_for_primary(timeout)
        self.wait_for_secondaries(timeout)
        return self.uri

    def start_member(self, index: int) -> None:
        dbpath = self.root / f"member{index}"
        dbpath.mkdir(parents=True, exist_ok=True)
        self.processes[index] = subprocess.Popen(  # noqa: S603 (our binary, our arguments)
            [str(mongod_binary()), "--dbpath", str(dbpath), "--port", str(self.ports[index]),
             "--bind_ip", "127.0.0.1", "--replSet", NAME,
             "--logpath", str(dbpath / "mongod.log"), "--logappend", "--quiet",
             "--setParameter", "diagnosticDataCollectionEnabled=false",
             "--wiredTigerCacheSizeGB", str(self.cache_gb)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _direct(self, index: int) -> MongoClient[dict[str, Any]]:
        return MongoClient(f"mongodb://127.0.0.1:{self.ports[index]}/?directConnection=true",
                           serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)

    def _hello(self, index: int) -> dict[str, Any] | None:
        if self.processes[index] is None or self.processes[index].poll() is not None:
            return None
        client = self._direct(index)
        try:
            return dict(client.admin.command("hello"))
        except PyMongoError:
            return None
        finally:
            client.close()

    def primary(self) -> int | None:
        """The index of the member that is primary now, if any."""
        for index in range(len(self.ports)):
            hello = self._hello(index)
            if hello and hello.get("isWritablePrimary"):
                return index
        return None

    def wait_for_primary(self, timeout: float = 60.0, other_than: int | None = None) -> int:
        deadline = time.monotonic() + timeout
        while True:
            found = self.primary()
            if found is not None and found != other_than:
                return found
            if time.monotonic() > deadline:
                raise ReplicaSetError(f"no primary within {timeout:.0f} s")
            time.sleep(0.05)

    def wait_for_secondaries(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = [self._hello(index) or {} for index in range(len(self.ports))]
            if all(state.get("isWritablePrimary") or state.get("secondary")
                   for state in states):
                return
            if time.monotonic() > deadline:
                raise ReplicaSetError("the members did not all come up in time")
            time.sleep(0.1)

    def step_down(self, seconds: int = 3) -> int:
        """Ask the primary to step down (it may not be elected again for ``seconds``);
        the index of the member that stepped down."""
        index = self.wait_for_primary()
        client = self._direct(index)
        try:
            with contextlib.suppress(PyMongoError):  # the connection closes as it steps down
                client.admin.command("replSetStepDown", seconds,
                                     secondaryCatchUpPeriodSecs=1)
        finally:
            client.close()
        return index

    def kill(self, index: int) -> None:
        process = self.processes[index]
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        self.processes[index] = None

    def stop(self) -> None:
        for index, process in enumerate(self.processes):
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self.processes[index] = None

    def __enter__(self) -> ReplicaSet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


