"""Every scenario of the benchmark suite, by the name ``--only`` takes, in the order ``make bench`` runs them."""

from __future__ import annotations

from bench.core import Scenario
from bench.scenarios import (
    aggregates,
    append,
    audit_export,
    chain,
    flows,
    http,
    list_query,
    projection,
    read_your_writes,
    renewals,
    trades,
)

SCENARIOS: dict[str, Scenario] = {
    "append-1": append.append_1,
    "append-16": append.append_16,
    "recorder-append": chain.recorder_append,
    "chain-1": chain.chain_1,
    "chain-16": chain.chain_16,
    "chain-verify": chain.chain_verify,
    "http": http.http_commands,
    "catch-up": projection.catch_up,
    "read-your-writes": read_your_writes.read_your_writes,
    "aggregate-load": aggregates.aggregate_load,
    "list-query": list_query.list_query,
    "rebuild": projection.rebuild,
    "audit-export": audit_export.audit_export,
    "renewals": renewals.renewals,
    "flow-throughput": flows.flow_throughput,
    "trade-open": trades.trade_open,
}
