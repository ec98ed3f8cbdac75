"""Flows over HTTP, on PostgreSQL and on the embedded store, with the scripted test agent and a recording
trade desk; runs execute in the API process (the jobs' in-process queue): define → activate → run →
completed, its history and stats; a signal opens one trade; ownership and permissions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application.flows.agents import AgentRegistry
from application.shared.commands import Clock
from domain.flows.run import signal_trade_id
from infrastructure.root import Adapters, Chronicle
from infrastructure.shared.platform import utc_now
from tests.conftest import eventually
from tests.e2e.workshop import Member, staff
from tests.unit.flow_builders import RecordingDesk, ScriptedAgent, step

pytestmark = pytest.mark.parametrize(
    "settings", [{"jobs_in_process": True, "flow_step_retry_seconds": 0.05}], indirect=True
)

FLOWS = "/api/v1/flows"
DEEP: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": {"f": {}}}}}}}  # seven levels: one too many


@pytest.fixture
def desk() -> RecordingDesk:
    return RecordingDesk()


@pytest.fixture
def agent() -> ScriptedAgent:
    return ScriptedAgent()


@pytest.fixture
def adapters(desk: RecordingDesk, agent: ScriptedAgent) -> Adapters:
    return Adapters(trade_desk=desk, agents=AgentRegistry.of([agent]))


@pytest.fixture
def clock() -> Clock:
    return utc_now


def define(client: TestClient, who: Member, *steps: dict[str, Any], title: str = "Signals") -> str:
    answer = client.post(FLOWS, json={"title": title, "steps": list(steps)}, headers=who.headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def act(client: TestClient, who: Member, flow_id: str, verb: str) -> Any:
    return client.post(f"{FLOWS}/{flow_id}/{verb}", headers=who.headers)


def finished_run(client: TestClient, who: Member, run_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        answer = client.get(f"/api/v1/flow-runs/{run_id}", headers=who.headers)
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 and body["status"] != "running" else None

    found: dict[str, Any] = eventually(done)
    return found


def test_define_activate_run_to_completion_then_history_and_stats(
    client: TestClient, container: Chronicle, desk: RecordingDesk
) -> None:
    owner = staff(client, container, "user")
    flow_id = define(client, owner, step(prompt="look"), step("signal", prompt="trade"), step(prompt="report"))
    assert act(client, owner, flow_id, "activate").status_code == 200

    started = client.post(f"{FLOWS}/{flow_id}/runs", json={"inputs": {"price": "64000"}}, headers=owner.headers)
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    run = finished_run(client, owner, run_id)

    assert run["status"] == "completed" and run["trigger"] == "manual"
    assert [s["status"] for s in run["steps"]] == ["completed"] * 3
    assert [s["attempts"] for s in run["steps"]] == [1, 1, 1]
    assert run["steps"][1]["output"]["trade_id"] == str(signal_trade_id(UUID(run_id), 1))
    assert all(s["duration_us"] is not None and s["duration_us"] >= 0 for s in run["steps"])
    assert [c["trade_id"] for c in desk.calls] == [signal_trade_id(UUID(run_id), 1)]

    history = client.get(f"{FLOWS}/{flow_id}/runs", headers=owner.headers).json()
    assert history["total"] == 1 and history["items"][0]["id"] == run_id
    stats = client.get(f"{FLOWS}/{flow_id}/stats", headers=owner.headers).json()
    assert (stats["runs_started"], stats["runs_completed"], stats["runs_failed"]) == (1, 1, 0)
    assert stats["success_rate"] == "1.0000" and stats["mean_duration_ms"] is not None

    mine = client.get(FLOWS, headers=owner.headers).json()
    assert [(f["id"], f["status"], len(f["steps"])) for f in mine["items"]] == [(flow_id, "active", 3)]


def test_a_failing_step_fails_the_run_with_its_error_after_its_attempts_and_counts_in_the_stats(
    client: TestClient, container: Chronicle
) -> None:
    owner = staff(client, container, "user")
    flow_id = define(client, owner, step("flaky", fails=1), step("fail"))
    act(client, owner, flow_id, "activate")
    run_id = client.post(f"{FLOWS}/{flow_id}/runs", json={}, headers=owner.headers).json()["id"]
    run = finished_run(client, owner, run_id)

    assert (run["status"], run["error"]) == ("failed", "failure 3")
    assert [(s["status"], s["attempts"]) for s in run["steps"]] == [("completed", 2), ("failed", 3)]
    stats = eventually(
        lambda: (s := client.get(f"{FLOWS}/{flow_id}/stats", headers=owner.headers).json())["runs_failed"] and s
    )
    assert (stats["runs_completed"], stats["runs_failed"], stats["success_rate"]) == (0, 1, "0.0000")


def test_an_invalid_step_config_is_a_422_listing_every_field(client: TestClient, container: Chronicle) -> None:
    owner = staff(client, container, "user")
    body = {"title": "Bad", "steps": [step("nope"), {"prompt": "x", "agent": "ghost", "config": {}}]}
    answer = client.post(FLOWS, json=body, headers=owner.headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_step_config"
    assert [e["field"] for e in answer.json()["errors"]] == ["steps.0.config.mode", "steps.1.agent"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "steps": [step()]},
        {"title": "x" * 201, "steps": [step()]},
        {"title": "t", "steps": []},
        {"title": "t", "steps": [step()] * 21},
        {"title": "t", "steps": [{"prompt": "p" * 4001, "agent": "test", "config": {}}]},
        {"title": "t", "steps": [{"prompt": "p", "agent": "Test Agent", "config": {}}]},
        {"title": "t", "steps": [{"prompt": "p", "agent": "test", "config": {"a": "x" * 9000}}]},
        {
            "title": "t",
            "steps": [{"prompt": "p", "agent": "test", "config": {"a": {"b": {"c": {"d": {"e": {"f": {}}}}}}}}],
        },
        {"title": "t\x00", "steps": [step()]},
        {"title": "t", "steps": [step()], "schedule_seconds": 5},
        {"title": "t", "steps": [step()], "extra": 1},
    ],
)
def test_bodies_out_of_bounds_are_refused_at_the_edge(
    client: TestClient, container: Chronicle, body: dict[str, Any]
) -> None:
    owner = staff(client, container, "user")
    answer = client.post(FLOWS, json=body, headers=owner.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_failed"


def test_another_users_flow_is_not_found_and_auditors_read_everything_and_write_nothing(
    client: TestClient, container: Chronicle
) -> None:
    owner, stranger = staff(client, container, "user"), staff(client, container, "user")
    auditor, admin = staff(client, container, "auditor"), staff(client, container, "admin")
    flow_id = define(client, owner, step())
    act(client, owner, flow_id, "activate")
    run_id = client.post(f"{FLOWS}/{flow_id}/runs", json={}, headers=owner.headers).json()["id"]
    finished_run(client, owner, run_id)

    reads = [f"{FLOWS}/{flow_id}", f"{FLOWS}/{flow_id}/runs", f"{FLOWS}/{flow_id}/stats", f"/api/v1/flow-runs/{run_id}"]
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("put", f"{FLOWS}/{flow_id}/steps", {"steps": [step()]}),
        ("post", f"{FLOWS}/{flow_id}/activate", {}),
        ("post", f"{FLOWS}/{flow_id}/pause", {}),
        ("post", f"{FLOWS}/{flow_id}/stop", {}),
        ("post", f"{FLOWS}/{flow_id}/runs", {}),
    ]
    assert [client.get(path, headers=stranger.headers).status_code for path in reads] == [404] * 4
    assert [client.request(m, p, json=b, headers=stranger.headers).status_code for m, p, b in writes] == [404] * 5
    assert client.get(FLOWS, headers=stranger.headers).json()["total"] == 0
    assert client.get(FLOWS, params={"account_id": owner.id}, headers=stranger.headers).json()["total"] == 0

    for reader in (auditor, admin):
        assert [client.get(path, headers=reader.headers).status_code for path in reads] == [200] * 4
        listed = client.get(FLOWS, params={"account_id": owner.id}, headers=reader.headers).json()
        assert [f["id"] for f in listed["items"]] == [flow_id]
    refused = [client.request(m, p, json=b, headers=auditor.headers) for m, p, b in writes]
    refused.append(client.post(FLOWS, json={"title": "t", "steps": [step()]}, headers=auditor.headers))
    assert [(r.status_code, r.json().get("code")) for r in refused] == [(403, "forbidden")] * 6, [
        r.text for r in refused
    ]
    assert client.get(f"{FLOWS}/{flow_id}", headers=owner.headers).json()["status"] == "active"


def test_lifecycle_conflicts_and_edits_while_paused(client: TestClient, container: Chronicle) -> None:
    owner = staff(client, container, "user")
    flow_id = define(client, owner, step())
    assert client.post(f"{FLOWS}/{flow_id}/runs", json={}, headers=owner.headers).json()["code"] == "flow_not_active"
    act(client, owner, flow_id, "activate")
    edit = client.put(f"{FLOWS}/{flow_id}/steps", json={"steps": [step(prompt="new")]}, headers=owner.headers)
    assert (edit.status_code, edit.json()["code"]) == (409, "flow_not_editable")
    paused = act(client, owner, flow_id, "pause").json()
    stale = {**owner.headers, "If-Match": f'"{paused["version"] - 1}"'}
    edit = client.put(f"{FLOWS}/{flow_id}/steps", json={"steps": [step(prompt="new")]}, headers=stale)
    assert (edit.status_code, edit.json()["code"]) == (412, "version_mismatch")
    current = {**owner.headers, "If-Match": f'"{paused["version"]}"'}
    edit = client.put(f"{FLOWS}/{flow_id}/steps", json={"steps": [step(prompt="new")]}, headers=current)
    assert edit.status_code == 200
    assert act(client, owner, flow_id, "stop").status_code == 200
    again = act(client, owner, flow_id, "activate")
    assert (again.status_code, again.json()["code"]) == (409, "flow_stopped")
    shown = eventually(
        lambda: (f := client.get(f"{FLOWS}/{flow_id}", headers=owner.headers).json())["status"] == "stopped" and f
    )
    assert shown["steps"][0]["prompt"] == "new"
