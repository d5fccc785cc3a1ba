"""The ``smart-routing`` command: serve, manage users, import and export routings."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bots.logging_setup import configure_logging
from bots.secret_key import SecretKeyError, check_opens_stored_credentials, secret_key_for
from config import Settings, SettingsError, load_settings
from routing_core.infra.errors import DomainError
from routing_core.infra.sentences import invalid
from routing_core.model.audit import Actor
from routing_core.model.users import AgentProfile
from routing_core.services import Services
from routing_core.store import Store
from routing_core.store.embedded import EmbeddedMongo, EmbeddedMongoError

CLI_ACTOR = Actor(id="cli", name="command line")


class CliError(Exception):
    """A refusal the command prints as one line, exiting with status 2."""


@contextmanager
def database(settings: Settings, *, owner: bool) -> Iterator[Settings]:
    """Settings with a MongoDB URI: the configured one, or the embedded mongod.

    The owner (``serve``) starts the embedded mongod and holds the data directory; other
    commands reuse a running service's mongod, or start one for their own short run.
    """
    if settings.mongodb_uri:
        yield settings
        return
    mongo = EmbeddedMongo(settings.data_dir, settings.embedded_mongodb_port,
                          settings.embedded_mongodb_cache_gb)
    try:
        uri = mongo.start()
    except EmbeddedMongoError as error:
        if owner or "another smart-routing process" not in str(error):
            raise CliError(str(error)) from None
        yield settings.model_copy(update={"mongodb_uri": mongo.uri})
        return
    try:
        yield settings.model_copy(update={"mongodb_uri": uri})
    finally:
        mongo.stop()


async def with_services(settings: Settings, work: Callable[[Services], Awaitable[Any]]) -> Any:
    store = Store.connect(settings.mongodb_uri or "", settings.mongodb_database,
                          settings.mongodb_write_concern)
    built = Services.build(settings, store)
    try:
        await store.ensure_indexes()
        await built.accounts.ensure_builtin_roles()
        return await work(built)
    finally:
        await store.close()


def command_serve(settings: Settings, args: argparse.Namespace) -> None:
    from bots.server import bind

    settings = settings.model_copy(
        update={
            "host": args.host or settings.host,
            "port": settings.port if args.port is None else args.port,
            "workers": args.workers or settings.workers,
        }
    )
    try:  # bound before anything starts: a taken port is reported at once
        sock = bind(settings.host, settings.port, reuse_port=settings.workers > 1)
    except OSError as error:
        raise CliError(f"cannot listen on {settings.host}:{settings.port}: {error}") from None
    with database(settings, owner=True) as connected:
        key, source = secret_key_for(connected)
        asyncio.run(check_opens_stored_credentials(connected, key, source))
        ready = connected.model_copy(update={"secret_key": key})
        host, port = sock.getsockname()[:2]
        where = f"http://{host}:{port}"

        def announce() -> None:
            mongo = "embedded mongod" if not settings.mongodb_uri else "MONGODB_URI"
            print(
                f"smart-routing listening on {where} (MongoDB: {mongo}, "
                f"{settings.workers} worker(s)); "
                f"API at {where}/api, OpenAPI at {where}/openapi.json",
                flush=True,
            )

        if settings.workers == 1:
            _serve_one(ready, sock, announce)
        else:
            _serve_many(ready, sock, announce)
    print("smart-routing stopped", flush=True)


def _serve_one(settings: Settings, sock: socket.socket, announce: Callable[[], None]) -> None:
    from bots.app import create_app
    from bots.server import serve

    asyncio.run(serve(create_app(settings), sock, settings.server, on_ready=announce))


def _serve_many(settings: Settings, sock: socket.socket, announce: Callable[[], None]) -> None:
    """N worker processes, each with its own SO_REUSEPORT socket on the same port, so the
    kernel spreads connections (long-lived WebSockets included) across them."""
    import multiprocessing

    import bots.app  # noqa: F401  (imported once here, shared by the forked workers)
    from bots.server import bind

    host, port = sock.getsockname()[:2]
    context = multiprocessing.get_context("fork")
    started = [context.Event() for _ in range(settings.workers)]

    def work(index: int) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards SIGTERM
        _serve_one(settings, bind(host, port, reuse_port=True), started[index].set)

    sock.close()  # the workers bind their own sockets to the port it reserved
    workers = [context.Process(target=work, args=(index,), daemon=False)
               for index in range(settings.workers)]
    for worker in workers:
        worker.start()

    def forward(signum: int, frame: object) -> None:
        for worker in workers:
            if worker.pid and worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for event in started:
        while not event.wait(0.5):
            if not all(worker.is_alive() for worker in workers):
                forward(signal.SIGTERM, None)
                break
    if all(event.is_set() for event in started):
        announce()
    for worker in workers:
        worker.join()


def command_user_add(settings: Settings, args: argparse.Namespace) -> None:
    password = args.password or os.environ.get("SR_NEW_USER_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise CliError("give --password (or SR_NEW_USER_PASSWORD) when not on a terminal")
        password = getpass.getpass("Password: ")
    agent = AgentProfile(queues=args.queue or [], capacity=args.capacity) if args.agent else None

    async def work(built: Services) -> None:
        # an agent is an agent unless told otherwise: --agent alone never makes an admin
        roles = args.role or (["agent"] if args.agent else ["admin"])
        user = await built.accounts.create_user(
            CLI_ACTOR, email=args.email, password=password, roles=roles, agent=agent,
        )
        print(f"user {user.email} created (id {user.id}, roles {', '.join(user.roles)})")

    with database(settings, owner=False) as ready:
        asyncio.run(with_services(ready, work))


def command_export(settings: Settings, args: argparse.Namespace) -> None:
    from routing_core.routing.portability import export_routing

    async def work(built: Services) -> None:
        routing = await built.store.routings.find_one({"reference": args.reference})
        if routing is None:
            raise CliError(f"no smart routing with reference {args.reference!r}")
        data = await export_routing(built.lifecycle, routing.id)
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if args.output:
            Path(args.output).write_text(text + "\n")
        else:
            print(text)

    with database(settings, owner=False) as ready:
        asyncio.run(with_services(ready, work))


def command_import(settings: Settings, args: argparse.Namespace) -> None:
    from routing_core.routing.portability import import_routing

    try:
        data = json.loads(Path(args.file).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read {args.file}: {error}") from None

    async def work(built: Services) -> None:
        routing = await import_routing(
            built.lifecycle, CLI_ACTOR, data, reference=args.reference, name=args.name
        )
        print(f"imported smart routing {routing.reference} (id {routing.id})")

    with database(settings, owner=False) as ready:
        asyncio.run(with_services(ready, work))


def capacity(text: str) -> int:
    """An agent's capacity from the command line, refused in one sentence."""
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 100")
    return int(text)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="smart-routing", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (and its embedded MongoDB)")
    serve.add_argument("--host", help="address to listen on (SR_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on, 0 for any (SR_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (SR_WORKERS)")
    serve.set_defaults(run=command_serve)

    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", help="create a user")
    add.add_argument("--email", required=True)
    add.add_argument("--password", help="else SR_NEW_USER_PASSWORD, else asked")
    add.add_argument("--role", action="append", metavar="ROLE",
                     help="a role's name, repeatable: admin (every permission), agent (the "
                     "agent console), or a role created in the panel; default: admin, or "
                     "agent with --agent")
    add.add_argument("--agent", action="store_true",
                     help="an agent: an agent profile, and the agent role unless --role says")
    add.add_argument("--queue", action="append", help="agent queue (repeatable)")
    add.add_argument("--capacity", type=capacity, default=3,
                     help="conversations an agent holds at once (1 to 100, default 3)")
    add.set_defaults(run=command_user_add)

    export = commands.add_parser("export", help="export a smart routing with its versions")
    export.add_argument("reference")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.set_defaults(run=command_export)

    import_ = commands.add_parser("import", help="import an exported smart routing")
    import_.add_argument("file")
    import_.add_argument("--reference", help="a new reference, when the exported one is taken")
    import_.add_argument("--name", help="a new name")
    import_.set_defaults(run=command_import)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings)
        args.run(settings, args)
    except SettingsError as error:
        print(f"smart-routing: {error}", file=sys.stderr)
        return 2
    except (CliError, DomainError, SecretKeyError) as error:
        print(f"smart-routing: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2
    except ValidationError as error:  # a value the records refuse: its field, in a sentence
        print(f"smart-routing: {invalid(error).message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
