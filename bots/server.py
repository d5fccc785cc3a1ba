"""Run the app under its ASGI server on a socket we bind ourselves.

Binding first lets ``--port 0`` work and lets us print the real address; both Hypercorn
and uvicorn accept an already-bound socket. SIGTERM and SIGINT stop serving cleanly.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
from collections.abc import Callable

from quart import Quart


def bind(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


async def serve(
    app: Quart,
    sock: socket.socket,
    server: str = "hypercorn",
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then let the app's shut-down hooks run."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    @app.before_serving
    async def announce() -> None:
        # the many long-lived objects of start-up (pydantic models of aiogram, Quart…) are
        # moved out of the collector's reach: full collections then take micro-, not
        # milliseconds, and stop stalling every conversation at once
        gc.collect()
        gc.freeze()
        if on_ready is not None:
            on_ready()

    if server == "uvicorn":
        import uvicorn

        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="wsproto")
        uvicorn_server = uvicorn.Server(config)
        uvicorn_server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        watcher = asyncio.create_task(_stop_when(stop, uvicorn_server))
        await uvicorn_server.serve(sockets=[sock])
        watcher.cancel()
        return
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # our handlers, our level
    config.graceful_timeout = 5
    await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]


async def _stop_when(stop: asyncio.Event, uvicorn_server: object) -> None:
    await stop.wait()
    uvicorn_server.should_exit = True  # type: ignore[attr-defined]
