"""The results table, printed and written to docs/benchmarks.md."""

from __future__ import annotations

from collections.abc import Sequence

from bench.core import Result


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _met(result: Result) -> str:
    return {True: "yes", False: "**no**", None: "—"}[result.met]


def table(results: Sequence[Result]) -> str:
    lines = [
        "| scenario | figure | Chronicle | baseline (same run) | ratio | target | met |",
        "| --- | --- | ---: | --- | ---: | --- | --- |",
    ]
    for r in results:
        baseline = f"{_number(r.baseline)} — {r.baseline_label}" if r.baseline is not None else r.baseline_label
        ratio = r.ratio
        lines.append(
            f"| {r.scenario} | {r.figure} | {_number(r.value)} {r.unit} | {baseline} | "
            f"{'—' if ratio is None else f'{ratio:.2f}'} | {r.target} | {_met(r)} |"
        )
    return "\n".join(lines)


def notes(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        if r.notes:
            lines.append(f"- **{r.scenario}** ({r.figure}):")
            lines.extend(f"  - {note}" for note in r.notes)
    return "\n".join(lines)


def environment(record: dict[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in record.items())


def document(results: Sequence[Result], record: dict[str, str], command: str, preface: str, analysis: str) -> str:
    return (
        "# Benchmarks\n\n"
        f"Written by `{command}`; every figure below was measured in that run. Do not edit figures by hand.\n\n"
        f"{preface}\n\n"
        "## Results\n\n"
        "Ratio: Chronicle relative to the baseline, oriented so that 1.00 means as good as the baseline "
        "(throughput ÷ baseline throughput; baseline time ÷ Chronicle time for latencies and load times).\n\n"
        f"{table(results)}\n\n"
        "## Per-scenario detail\n\n"
        f"{notes(results)}\n\n"
        "## Environment\n\n"
        f"{environment(record)}\n\n"
        f"{analysis}\n"
    )
