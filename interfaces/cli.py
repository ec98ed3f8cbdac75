"""The ``chronicle`` command line: serve, project, projections status / rebuild."""

from __future__ import annotations

import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infrastructure.container import Container
from infrastructure.settings import Settings
from interfaces.http.middleware import configure_logging

app = typer.Typer(help="Chronicle: event-sourced CQRS backend.", no_args_is_help=True, add_completion=False)
projections_app = typer.Typer(help="Inspect and rebuild projections.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
console = Console()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Serve the HTTP API (projections run in-process on the embedded store)."""
    import uvicorn

    from interfaces.http.app import create_app

    configure_logging(log_level.upper())
    settings = Settings()
    where = "embedded SQLite store in " + str(settings.data_dir) if settings.embedded else "PostgreSQL"
    console.print(f"Chronicle API on http://{host}:{port} (docs at /docs), {where}", highlight=False)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, log_level=log_level)


@app.command()
def project() -> None:
    """Run every projection worker against the configured store until interrupted."""
    configure_logging()
    container = Container(Settings())

    def stop(*_: object) -> None:
        container.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    console.print(f"Projecting: {', '.join(container.runners)}")
    container.run_projections_forever()


@projections_app.command("status")
def status() -> None:
    """Each projection's position, the log's head and the lag."""
    from interfaces.http.queries.ops import projection_statuses

    container = Container(Settings())
    try:
        table = Table("projection", "position", "head", "lag")
        for item in projection_statuses(container):
            table.add_row(item.name, str(item.position), str(item.head), str(item.lag))
        console.print(table)
    finally:
        container.close()


@projections_app.command("rebuild")
def rebuild(name: Annotated[str, typer.Argument(help="Projection to rebuild, e.g. accounts")]) -> None:
    """Rebuild a projection from position zero, with a progress bar."""
    container = Container(Settings())
    try:
        runner = container.runners.get(name)
        if runner is None or not runner.follower.tables:
            rebuildable = [n for n, r in container.runners.items() if r.follower.tables]
            console.print(f"[red]No read model named {name!r}[/red]; rebuildable: {', '.join(rebuildable)}")
            raise typer.Exit(2)
        head = container.head_position()
        runner.reset()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"rebuilding {name}", total=head)
            consumed = runner.catch_up(lambda n: progress.advance(task, n))
        console.print(f"Rebuilt {name}: {consumed} log entries folded, now at position {head}.")
    finally:
        container.close()


def main() -> None:
    app()
