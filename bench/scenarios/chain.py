"""The hash chain and the one-round-trip append: what the chain costs a command, the recorder alone against a
raw INSERT (and against the library's recorder), and how fast a log is verified, in the database and offline."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier

from bench.backlog import EVENTS_PER_ACCOUNT, account_id, load_backlog
from bench.core import BenchConfig, Result, bench_settings, create_baseline_events_table, latency_note, median, wipe
from bench.scenarios.append import RawStatements, context, profile_payload, run_writers
from bench.scenarios.projection import cursor_read_rate
from domain.accounts.values import Profile
from infrastructure.root import Chronicle
from infrastructure.shared.chain import verify_export
from infrastructure.shared.chain_log import ChainLog
from infrastructure.shared.checkpoints import CheckpointSigner
from infrastructure.shared.event_store import ChronicleRecorder
from infrastructure.shared.export import export_lines

UNCHAINED = "bench_append_unchained"


def without_chain(conn: psycopg.Connection[object], recorder: ChronicleRecorder) -> tuple[Composed, Composed]:
    """A copy of the append function minus the chain (no head read, no hash, no link stored): the 'before'."""
    table = SQL("{}.{}").format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    sequence = f"{recorder.datastore.schema}.{recorder.events_table_name}_notification_id_seq"
    conn.execute(
        SQL(
            "CREATE OR REPLACE FUNCTION {name}(ids uuid[], versions bigint[], topics text[], states bytea[]) "
            "RETURNS bigint[] LANGUAGE plpgsql AS $body$\n"
            "DECLARE n int := cardinality(ids); positions bigint[] := array_fill(0::bigint, ARRAY[n]);\n"
            "BEGIN\n"
            "  LOCK TABLE {table} IN EXCLUSIVE MODE;\n"
            "  FOR i IN 1 .. n LOOP positions[i] := nextval({sequence}); END LOOP;\n"
            "  INSERT INTO {table} (originator_id, originator_version, topic, state, notification_id)\n"
            "    SELECT * FROM unnest(ids, versions, topics, states, positions);\n"
            "  NOTIFY {channel};\n"
            "  RETURN positions;\n"
            "END $body$"
        ).format(
            name=Identifier(UNCHAINED),
            table=table,
            sequence=psycopg.sql.Literal(sequence),
            channel=Identifier(recorder.channel_name),
        )
    )
    conn.execute(
        SQL(
            "CREATE OR REPLACE FUNCTION {name}(id uuid, version bigint, topic text, state bytea) "
            "RETURNS bigint LANGUAGE plpgsql AS $body$\n"
            "DECLARE pos bigint;\n"
            "BEGIN\n"
            "  LOCK TABLE {table} IN EXCLUSIVE MODE;\n"
            "  pos := nextval({sequence});\n"
            "  INSERT INTO {table} (originator_id, originator_version, topic, state, notification_id)\n"
            "    VALUES (id, version, topic, state, pos);\n"
            "  NOTIFY {channel};\n"
            "  RETURN pos;\n"
            "END $body$"
        ).format(
            name=Identifier(UNCHAINED),
            table=table,
            sequence=psycopg.sql.Literal(sequence),
            channel=Identifier(recorder.channel_name),
        )
    )
    many = SQL("SELECT {name}(%s::uuid[], %s::int8[], %s::text[], %s::bytea[]) AS positions").format(
        name=Identifier(UNCHAINED)
    )
    one = SQL("SELECT {name}(%s::uuid, %s::int8, %s::text, %s::bytea) AS position").format(name=Identifier(UNCHAINED))
    return many, one


def heal_head(conn: psycopg.Connection[object]) -> None:
    """After unchained appends the head has no link and the chained append would refuse: give it one (scratch data)."""
    conn.execute(
        "UPDATE chronicle_events SET chain = %s WHERE notification_id = (SELECT max(notification_id) "
        "FROM chronicle_events) AND chain IS NULL",
        (bytes(32),),
    )


def chain_cost(writers: int) -> Callable[[BenchConfig], list[Result]]:
    def run(config: BenchConfig) -> list[Result]:
        wipe(config.database_url)
        per_writer = config.scale(2000, 100) // writers
        warm = max(1, per_writer // 10)
        container = Chronicle(bench_settings(config.database_url))
        container.open()
        load_backlog(
            container.accounts,
            config.database_url,
            EVENTS_PER_ACCOUNT * writers * (warm + 2 * per_writer * config.runs),
        )
        recorder = container.log.recorder
        assert isinstance(recorder, ChronicleRecorder)
        chained = (recorder.append_statement, recorder.append_one_statement)
        sent = [0] * writers
        try:
            with psycopg.connect(config.database_url, autocommit=True) as conn:
                unchained = without_chain(conn, recorder)

                def command(writer: int, n: int) -> None:
                    stream = account_id(writer + writers * sent[writer])
                    sent[writer] += 1
                    container.accounts.update_profile(context(), stream, Profile("Ada", f"Chain{n}"))

                run_writers(writers, warm, command)
                with_rates, without_rates = [], []
                for _ in range(config.runs):
                    recorder.append_statement, recorder.append_one_statement = unchained
                    elapsed, _ = run_writers(writers, per_writer, command)
                    without_rates.append(writers * per_writer / elapsed)
                    heal_head(conn)
                    recorder.append_statement, recorder.append_one_statement = chained
                    elapsed, _ = run_writers(writers, per_writer, command)
                    with_rates.append(writers * per_writer / elapsed)
        finally:
            recorder.append_statement, recorder.append_one_statement = chained
            container.close()
        value, base = median(with_rates), median(without_rates)
        plural = "s" if writers > 1 else ""
        return [
            Result(
                scenario=f"chain-{writers}",
                figure=f"append with the hash chain, {writers} writer{plural} (commands/s)",
                value=value,
                unit="commands/s",
                baseline=base,
                baseline_label="the same commands without the chain (the append function minus head read, hash and "
                "link), alternating in the same run",
                target="cost measured (no target)",
                met=None,
                notes=[
                    f"{writers * per_writer} commands per run (update_profile, one event each), runs alternate",
                    "with the chain: " + ", ".join(f"{x:.0f}" for x in with_rates),
                    "without: " + ", ".join(f"{x:.0f}" for x in without_rates),
                    f"cost of the chain: {(1 - value / base) * 100:.1f} % of throughput (medians)",
                ],
            )
        ]

    return run


def recorder_append(config: BenchConfig) -> list[Result]:
    """One pre-encoded event at a time through the recorder alone (no application, no load), 1 writer."""
    wipe(config.database_url)
    count = config.scale(3000, 200)
    container = Chronicle(bench_settings(config.database_url))
    container.open()
    try:
        load_backlog(container.accounts, config.database_url, EVENTS_PER_ACCOUNT)
        topic, state = profile_payload(container, account_id(0))
        recorder = container.log.recorder
        with psycopg.connect(config.database_url, autocommit=True) as conn:
            table = create_baseline_events_table(conn, "recorder")
        raw = RawStatements(config.database_url, 1, table, topic, state)
        library = PostgresApplicationRecorder(
            container.log.recorder.datastore,  # type: ignore[attr-defined]
            events_table_name="bench_baseline_library_events",
        )
        library.create_table()
        direct = ChronicleRecorder.insert_events

        def ours(_: int, __: int) -> None:
            recorder.insert_events([StoredEvent(uuid4(), 1, topic, state)])

        def ours_direct(_: int, __: int) -> None:
            direct(recorder, [StoredEvent(uuid4(), 1, topic, state)])  # type: ignore[arg-type]

        def theirs(_: int, __: int) -> None:
            library.insert_events([StoredEvent(uuid4(), 1, topic, state)])

        try:
            for action in (raw.baseline, ours, ours_direct, theirs):
                run_writers(1, max(1, count // 10), action)
            rates: dict[str, list[float]] = {"raw": [], "ours": [], "direct": [], "library": []}
            latencies: list[float] = []
            cpu = 0.0
            for _ in range(config.runs):
                elapsed, _ = run_writers(1, count, raw.baseline)
                rates["raw"].append(count / elapsed)
                began = time.process_time()
                elapsed, lat = run_writers(1, count, ours)
                cpu += time.process_time() - began
                latencies.extend(lat)
                rates["ours"].append(count / elapsed)
                elapsed, _ = run_writers(1, count, ours_direct)
                rates["direct"].append(count / elapsed)
                elapsed, _ = run_writers(1, count, theirs)
                rates["library"].append(count / elapsed)
            with psycopg.connect(config.database_url) as conn:
                row = conn.execute("SELECT count(*) FROM chronicle_events").fetchone()
                logged = int(row[0]) if row else 0
        finally:
            raw.close()
    finally:
        container.close()
    value, base = median(rates["ours"]), median(rates["raw"])
    direct_rate, library_rate = median(rates["direct"]), median(rates["library"])
    return [
        Result(
            scenario="recorder-append",
            figure="recorder append of one pre-encoded event, 1 writer (appends/s)",
            value=value,
            unit="appends/s",
            baseline=base,
            baseline_label="raw single-row INSERT + commit, 1 connection (rows/s)",
            target="≥ 0.6 x baseline",
            met=value >= 0.6 * base,
            notes=[
                f"{count} appends per run through the log's recorder as configured (group commit), one round trip "
                "each: the append function (lock, chain head, positions, links, insert, NOTIFY) in one prepared call",
                f"the log: {EVENTS_PER_ACCOUNT} events (ANALYZE'd) at the start, {logged:,} at the end (this "
                "recorder's and the one without the queue append to it); a plan made on the small log must hold",
                "Chronicle runs: " + ", ".join(f"{x:.0f}" for x in rates["ours"]),
                "baseline runs: " + ", ".join(f"{x:.0f}" for x in rates["raw"]),
                f"ChronicleRecorder without the group-commit queue: {direct_rate:.0f}/s = {direct_rate / base:.2f} x "
                "baseline",
                f"the library's PostgresApplicationRecorder (pipelined LOCK, NOTIFY, INSERT, no chain), same "
                f"pool, own table: {library_rate:.0f}/s = {library_rate / base:.2f} x baseline",
                f"Python CPU per append in the bench process: {cpu / (count * config.runs) * 1e6:.0f} µs",
                latency_note("append latency", latencies),
            ],
        )
    ]


def export_file(container: Chronicle, directory: Path) -> Path:
    """The log exported as ``chronicle audit export`` writes it (``export_lines``: decoded, redacted, with the
    stored bytes, topic and link), to a file: what an auditor verifies offline."""
    path = directory / "log.ndjson"
    with path.open("wb") as out:
        for line in export_lines(container.log.recorder, container.log.metadata_mapper):
            out.write(line)
    return path


def chain_verify(config: BenchConfig) -> list[Result]:
    events = config.scale(1_000_000, 5_000)
    wipe(config.database_url)
    container = Chronicle(bench_settings(config.database_url))
    container.open()
    try:
        head = load_backlog(container.accounts, config.database_url, events)
        chain = ChainLog(container.log.recorder)
        signer = CheckpointSigner(Ed25519PrivateKey.generate())
        position, link = chain.head()
        checkpoint = signer.sign(position, link, container.clock())
        runs = max(1, min(config.runs, 3))
        with tempfile.TemporaryDirectory(prefix="chronicle-bench-export-") as tmp:
            path = export_file(container, Path(tmp))
            database, offline, cursor = [], [], []
            for _ in range(runs):
                cursor.append(cursor_read_rate(config.database_url))
                began = time.perf_counter()
                verdict = chain.verify()
                database.append(verdict.checked / (time.perf_counter() - began))
                assert verdict.ok and verdict.checked == head, verdict
                began = time.perf_counter()
                with path.open("rb") as lines:
                    offline_verdict = verify_export(lines, checkpoint, signer.public_key)
                offline.append(offline_verdict.checked / (time.perf_counter() - began))
                assert offline_verdict.ok, offline_verdict
    finally:
        container.close()
    value, base = median(database), median(cursor)
    return [
        Result(
            scenario="chain-verify",
            figure=f"verify the stored chain in the database, {head:,} events (events/s)",
            value=value,
            unit="events/s",
            baseline=base,
            baseline_label="server-side cursor read of the same rows (events/s)",
            target="measured (no target)",
            met=None,
            notes=[
                f"ChainLog.verify: keyset pages of 1,000 rows, SHA-256 in Python; {runs} runs",
                "runs: " + ", ".join(f"{x:,.0f}" for x in database),
                f"offline: chronicle audit verify's check of an NDJSON export against a signed checkpoint: "
                f"{median(offline):,.0f} events/s (runs: {', '.join(f'{x:,.0f}' for x in offline)}); the export "
                "file is written beforehand by export_lines (what chronicle audit export writes)",
            ],
        )
    ]


chain_1 = chain_cost(1)
chain_16 = chain_cost(16)
