"""The ``chronicle`` command line: serve, project, projections status / rebuild.

It reaches the HTTP edge only by name (uvicorn imports the app factory), never by import.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infrastructure.root import Chronicle
from infrastructure.shared.log_format import configure_logging, logging_config
from infrastructure.shared.metrics import MULTIPROC_ENV
from infrastructure.shared.settings import Settings, StartupRefused
from infrastructure.shared.startup import probe_database

APP_FACTORY = "interfaces.http.app:create_app"

app = typer.Typer(help="Chronicle: event-sourced CQRS backend.", no_args_is_help=True, add_completion=False)
projections_app = typer.Typer(help="Inspect and rebuild projections.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
console = Console()


def checked_settings() -> Settings:
    """The settings from the environment; a bad one ends the command with exit code 2 and one line per
    setting, ``SETTING_NAME: reason`` (never a traceback, never the value: it may be a secret)."""
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors(include_url=False, include_input=False):
            name = ".".join(str(part) for part in problem["loc"]).upper() or "SETTINGS"
            typer.echo(f"{name}: {problem['msg']}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def refusals() -> Iterator[None]:
    """A start-up refusal (no database at that address, ...) ends the command with its one-line reason."""
    try:
        yield
    except StartupRefused as refused:
        typer.echo(f"Chronicle cannot start: {refused}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes (default: API_WORKERS, else one per core up to 4 with PostgreSQL and Redis, else 1)",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (projections run in-process on the embedded store)."""
    import uvicorn

    configure_logging(log_level.upper())
    settings = checked_settings()
    with refusals():  # the app's lifespan opens the stores again: this fails first, in one line
        probe_database(settings)
        settings.signing_ready()
        count = settings.workers(workers)
        if count > 1:  # the workers start at once: the tables and the superadmin are made before, here
            Chronicle(settings).prepare()
    where = "embedded SQLite store in " + str(settings.data_dir) if settings.embedded else "PostgreSQL"
    processes = f", {count} worker processes" if count > 1 else ""
    banner = f"Chronicle API on http://{host}:{port} (docs at /docs), {where}{processes}"

    class Server(uvicorn.Server):
        """Says where the API is once it is listening, not before (start-up may still fail)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                console.print(banner, highlight=False)

    # Chronicle logs every request itself (one JSON line with its request id): no second access log. It names no
    # server, and believes X-Forwarded-* only from FORWARDED_ALLOW_IPS (the app applies that setting itself).
    # Each worker process configures its JSON logging itself (log_config): a fresh interpreter logs nothing.
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=count,
        log_config=logging_config(log_level),
        log_level=log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    if count == 1:
        # One process keeps its metrics in its own memory: no directory of another run's values is read.
        os.environ.pop(MULTIPROC_ENV, None)
        Server(config).run()
        return
    from interfaces.serving import serve_workers

    serve_workers(config, on_ready=lambda: console.print(banner, highlight=False, soft_wrap=True))


@app.command()
def project(
    metrics_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Serve this process's /metrics on this port (default: none)")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface of --metrics-port (anyone who reaches it reads)")] = (
        "127.0.0.1"
    ),
) -> None:
    """Run every projection worker against the configured store until interrupted."""
    configure_logging()
    chronicle = Chronicle(checked_settings())
    if metrics_port is not None:  # the projections' batch latency and failures are counted in this process
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)

    def stop(*_: object) -> None:
        chronicle.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with refusals():
        chronicle.open()
    console.print(f"Projecting: {', '.join(chronicle.runners)}")
    chronicle.run_projections_forever()


@projections_app.command("status")
def status() -> None:
    """Each projection's position, the log's head, the lag and the state (a failed one: where and why)."""
    chronicle = Chronicle(checked_settings())
    with refusals():
        chronicle.open()
    try:
        table = Table("projection", "position", "head", "lag", "state", "failed at", "retries")
        states = chronicle.operations.projections()
        for item in states:
            failure = item.failure
            table.add_row(
                item.name,
                str(item.position),
                str(item.head),
                str(item.lag),
                f"[red]{item.state}[/red]" if failure else item.state,
                str(failure.position) if failure else "",
                str(failure.retries) if failure else "",
            )
        console.print(table)
        for item in states:
            if item.failure is not None:
                since = item.failure.first_failed_at.isoformat(timespec="seconds")
                console.print(
                    f"{item.name} failed since {since}: {item.failure.error_type}: {item.failure.error}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
    finally:
        chronicle.close()
    if any(item.failure for item in states):
        raise typer.Exit(1)


@projections_app.command("rebuild")
def rebuild(name: Annotated[str, typer.Argument(help="Projection to rebuild, e.g. accounts")]) -> None:
    """Rebuild a projection from position zero, with a progress bar."""
    chronicle = Chronicle(checked_settings())
    with refusals():
        chronicle.open()
    try:
        runner = chronicle.runners.get(name)
        if runner is None or not runner.follower.tables:
            rebuildable = [n for n, r in chronicle.runners.items() if r.follower.tables]
            console.print(f"[red]No read model named {name!r}[/red]; rebuildable: {', '.join(rebuildable)}")
            raise typer.Exit(2)
        head = chronicle.head_position()
        runner.reset()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"rebuilding {name}", total=head)
            consumed = runner.catch_up(lambda n: progress.advance(task, n))
        console.print(f"Rebuilt {name}: {consumed} log entries folded, now at position {head}.")
    finally:
        chronicle.close()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
