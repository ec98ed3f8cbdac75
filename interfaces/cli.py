"""The ``chronicle`` command line: serve, project, worker, beat, projections, audit (export, the hash chain).

It reaches the HTTP edge only by name (uvicorn imports the app factory), never by import.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from domain.shared.errors import DomainError
from infrastructure.root import Chronicle
from infrastructure.shared import checkpoints as chain_keys
from infrastructure.shared.chain import verify_export
from infrastructure.shared.chain_log import Checkpoints
from infrastructure.shared.collector import tune_collector
from infrastructure.shared.export import AuditExporter
from infrastructure.shared.jobs import broker_url
from infrastructure.shared.log_format import configure_logging, logging_config
from infrastructure.shared.metrics import MULTIPROC_ENV
from infrastructure.shared.rebuild import RebuildRefused, RebuildReport, RebuildRunning
from infrastructure.shared.runner import EventNotApplied
from infrastructure.shared.settings import Settings, StartupRefused
from infrastructure.shared.startup import probe_database

APP_FACTORY = "interfaces.http.app:serve_app"

app = typer.Typer(help="Chronicle: event-sourced CQRS backend.", no_args_is_help=True, add_completion=False)
projections_app = typer.Typer(help="Inspect and rebuild projections.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
audit_app = typer.Typer(help="Auditors: export the log, sign and verify its hash chain.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
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
    tune_collector(chronicle.settings.gc_young_threshold)
    console.print(f"Projecting: {', '.join(chronicle.runners)}")
    chronicle.run_projections_forever()


@app.command()
def worker(
    pool: Annotated[
        str, typer.Option(help="solo (one task at a time), threads or prefork (CONCURRENCY at once)")
    ] = "solo",
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tasks at once (threads, prefork)")] = 1,
    hostname: Annotated[str, typer.Option(help="Node name (celery inspect ping -d ...)")] = "chronicle@%h",
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Run a Celery worker for the background jobs (renewals, dunning, ...) until interrupted."""
    if pool not in {"solo", "threads", "prefork"}:
        # prefork: each child opens its own pools (and the parent keeps its own idle): see the connection budget.
        typer.echo("--pool: solo, threads or prefork", err=True)
        raise typer.Exit(2)
    from interfaces.worker import create_celery

    configure_logging(log_level.upper())
    settings = checked_settings()
    with refusals():  # the worker opens the stores when it starts: fail first, in one line
        broker_url(settings)
        probe_database(settings)
    argv = ["worker", f"--pool={pool}", f"--concurrency={concurrency}", f"--hostname={hostname}"]
    create_celery(settings).worker_main([*argv, f"--loglevel={log_level.upper()}"])


@app.command()
def beat(log_level: Annotated[str, typer.Option(help="Log level")] = "info") -> None:
    """Run Celery beat: sends each registered sweep (subscriptions due, ...) on its interval. Run one."""
    from interfaces.worker import create_celery

    configure_logging(log_level.upper())
    settings = checked_settings()
    with refusals():
        broker_url(settings)
        probe_database(settings)
    create_celery(settings).start(["beat", f"--loglevel={log_level.upper()}"])


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
        for item in states:  # beside the table (it keeps to 80 columns): who runs it, its last rebuild
            notes = []
            if item.active is not None:
                notes.append(f"active worker: pid {item.active.pid or '?'} on {item.active.host}")
            if item.rebuild is not None:
                job = item.rebuild
                notes.append(f"rebuild {job.state} at position {job.position} of {job.head} (job {job.job_id})")
            if notes:
                console.print(f"{item.name}: {'; '.join(notes)}", highlight=False, markup=False, soft_wrap=True)
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
def rebuild(
    name: Annotated[str, typer.Argument(help="Projection to rebuild, e.g. accounts")],
    force: Annotated[
        bool, typer.Option("--force", help="Swap even when the rows differ and the projection code did not change")
    ] = False,
) -> None:
    """Rebuild a projection beside the live one (queries keep being served), report the differences, swap."""
    chronicle = Chronicle(checked_settings())
    with refusals():
        chronicle.open()
    tune_collector(chronicle.settings.gc_young_threshold)
    try:
        rebuilds = chronicle.rebuilds
        if name not in rebuilds.rebuildable():
            console.print(
                f"No read model named {name!r}; rebuildable: {', '.join(rebuilds.rebuildable())}",
                style="red",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(2)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"rebuilding {name}", total=chronicle.head_position())

            def step(position: int, head: int) -> None:
                progress.update(task, completed=position, total=max(head, position))

            try:
                report = rebuilds.run(name, force=force, progress=step)
            except RebuildRefused as refused:
                progress.stop()
                _print_report(refused.report)
                console.print(f"[red]Not swapped[/red]: {refused.detail}", highlight=False)
                raise typer.Exit(1) from None
            except (RebuildRunning, EventNotApplied) as failed:
                progress.stop()
                console.print(f"[red]Not rebuilt[/red]: {failed}", highlight=False, markup=False)
                raise typer.Exit(1) from None
        _print_report(report)
        console.print(f"Rebuilt {name}: swapped in at position {report.position}.")
    finally:
        chronicle.close()


@audit_app.command("export")
def audit_export(
    after: Annotated[int, typer.Option(min=0, help="Events after this log position")] = 0,
    until: Annotated[int | None, typer.Option(min=0, help="Up to and including this position (default: head)")] = None,
) -> None:
    """Write the log (or a position range) to stdout as NDJSON, one event a line (docs/auditing.md)."""
    chronicle = Chronicle(checked_settings())
    with refusals():
        chronicle.open()
    try:
        exporter: AuditExporter = chronicle.services[AuditExporter]
        out = sys.stdout.buffer
        for line in exporter.lines(after, until):
            out.write(line)
        out.flush()
    finally:
        chronicle.close()


def _checkpoints() -> tuple[Chronicle, Checkpoints]:
    chronicle = Chronicle(checked_settings())
    with refusals():
        chronicle.open()
    checkpoints: Checkpoints = chronicle.services[Checkpoints]
    return chronicle, checkpoints


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the Ed25519 public key (PEM) the chain's checkpoints are signed with."""
    chronicle, checkpoints = _checkpoints()
    try:
        typer.echo(checkpoints.public_key_pem(), nl=False)
    except DomainError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None
    finally:
        chronicle.close()


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Print a signed checkpoint of the chain's head now (JSON): keep it to verify exports later."""
    chronicle, checkpoints = _checkpoints()
    try:
        typer.echo(json.dumps(checkpoints.take().as_dict(), indent=2))
    except DomainError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None
    finally:
        chronicle.close()


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path, typer.Argument(help="NDJSON export (chronicle audit export), '-' for stdin")],
    checkpoint: Annotated[Path, typer.Option(help="Signed checkpoint (JSON) the export must reach")],
    public_key: Annotated[Path, typer.Option(help="The log's public key (PEM), from chronicle audit public-key")],
    since: Annotated[Path | None, typer.Option(help="An earlier checkpoint, when the export starts after it")] = None,
) -> None:
    """Check an export offline: every link, and the checkpoint's head at its position. Exit 1 if altered."""
    try:
        key = chain_keys.public_key(public_key.read_text())
        until = chain_keys.Checkpoint.from_dict(json.loads(checkpoint.read_text()))
        after = chain_keys.Checkpoint.from_dict(json.loads(since.read_text())) if since else None
    except (OSError, ValueError) as error:
        typer.echo(f"cannot read the inputs: {error}", err=True)
        raise typer.Exit(2) from None
    with contextlib.ExitStack() as stack:
        lines = sys.stdin.buffer if str(export) == "-" else stack.enter_context(export.open("rb"))
        verdict = verify_export(lines, until, key, since=after)
    typer.echo(json.dumps(verdict.as_dict(), indent=2))
    if not verdict.ok:
        raise typer.Exit(1)


def _print_report(report: RebuildReport) -> None:
    """The differences between the live and the rebuilt tables, found before the swap."""
    table = Table("table", "rows live → new", "checksum live → new", "same")
    for diff in report.tables:
        same = "yes" if diff.same else "[red]no[/red]"
        # The checksums' first digits: enough to tell them apart on screen (the job keeps them whole).
        checksums = f"{diff.live_checksum[:8]} → {diff.new_checksum[:8]}"
        table.add_row(diff.table, f"{diff.live_rows} → {diff.new_rows}", checksums, same)
    console.print(table)
    changed = "changed" if report.code_changed else "unknown" if report.live_fingerprint is None else "unchanged"
    console.print(f"projection code: {changed}; compared at position {report.position}", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
