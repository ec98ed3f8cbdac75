"""The HTTP agent against a real local HTTP server the test starts on 127.0.0.1 (no mock of httpx)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from application.flows.agents import AgentFailed, InvalidAgentConfig, StepCall, StepResult
from infrastructure.flows.http_agent import MAX_RECORDED_CHARS, HttpAgent
from tests.agent_server import AgentServer, Reply, Request

RUN_ID = uuid.UUID("5f0c8a52-1d2e-4c8b-9a51-0f6b2c7d9e11")


class Sleeps:
    """Stands in for time.sleep between attempts: records the backoff, waits nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@contextmanager
def serving(respond: Callable[[Request], Reply]) -> Iterator[AgentServer]:
    with AgentServer(respond).running() as server:
        yield server


def agent(sleeps: Sleeps | None = None, hosts: tuple[str, ...] = ("127.0.0.1",)) -> HttpAgent:
    return HttpAgent(frozenset(hosts), sleep=sleeps or Sleeps())


def call(http: HttpAgent, url: str, *, prompt: str = "Price of {{ inputs.symbol }}?", **config: Any) -> StepCall:
    return StepCall(
        flow_id=uuid.UUID(int=7),
        run_id=RUN_ID,
        account_id=uuid.UUID(int=9),
        step_index=1,
        attempt=2,
        prompt=prompt,
        config=http.validate_config({"url": url, **config}),
        inputs={"symbol": "BTC/USDT"},
        outputs=[{"text": "earlier"}],
    )


def run(http: HttpAgent, url: str, **config: Any) -> StepResult:
    return http.run(call(http, url, **config))


def test_a_step_posts_the_rendered_prompt_with_its_idempotency_key_and_records_the_json_answer() -> None:
    with serving(lambda r: Reply(200, {"answer": "buy", "confidence": 0.75, "n": 3})) as server:
        result = run(agent(), server.url())

    assert result.output == {
        "status": 200,
        "body": {"answer": "buy", "confidence": "0.75", "n": 3},
        "truncated": False,
        "attempts": 1,
    }
    assert result.signal is None
    (request,) = server.requests
    assert request.headers["idempotency-key"] == f"{RUN_ID}:1"
    assert request.body == {
        "prompt": "Price of BTC/USDT?",
        "inputs": {"symbol": "BTC/USDT"},
        "flow_id": str(uuid.UUID(int=7)),
        "run_id": str(RUN_ID),
        "step": 1,
        "attempt": 2,
    }


def test_a_text_answer_is_recorded_as_text_with_unstorable_characters_replaced() -> None:
    with serving(lambda r: Reply(200, "hold\x00 it", headers={"Content-Type": "text/plain"})) as server:
        result = run(agent(), server.url())

    assert result.output["body"] == "hold\ufffd it"


def test_a_5xx_is_retried_with_backoff_and_the_same_key_until_an_answer_comes() -> None:
    sleeps = Sleeps()
    with serving(lambda r: Reply(503 if r.number < 3 else 200, {"ok": True})) as server:
        result = run(agent(sleeps), server.url(), max_attempts=4)

    assert result.output["status"] == 200
    assert result.output["attempts"] == 3
    assert sleeps.waits == [0.25, 0.5]
    assert server.calls == {f"{RUN_ID}:1": 3}


def test_5xx_on_every_attempt_fails_the_step_retryably_after_max_attempts() -> None:
    sleeps = Sleeps()
    with serving(lambda r: Reply(502, {"error": "upstream"})) as server, pytest.raises(AgentFailed) as failed:
        run(agent(sleeps), server.url(), max_attempts=3)

    assert failed.value.retryable
    assert "502" in failed.value.message and "3 attempts" in failed.value.message
    assert len(server.requests) == 3
    assert len(sleeps.waits) == 2


def test_a_4xx_is_not_retried_and_fails_the_step_for_good() -> None:
    with serving(lambda r: Reply(422, {"error": "bad prompt"})) as server, pytest.raises(AgentFailed) as failed:
        run(agent(), server.url(), max_attempts=5)

    assert not failed.value.retryable
    assert "422" in failed.value.message
    assert len(server.requests) == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_is_retried_then_fails_retryably() -> None:
    sleeps = Sleeps()
    http = agent(sleeps)

    with pytest.raises(AgentFailed) as failed:
        run(http, f"http://127.0.0.1:{free_port()}/agent", max_attempts=3)

    assert failed.value.retryable
    assert "could not be reached" in failed.value.message
    assert sleeps.waits == [0.25, 0.5]


def test_a_slow_answer_times_out_and_each_attempt_is_bounded_by_the_timeout() -> None:
    with serving(lambda r: Reply(200, {"late": True}, delay=2.0)) as server:
        began = time.monotonic()
        with pytest.raises(AgentFailed) as failed:
            run(agent(), server.url(), timeout_seconds="0.3", max_attempts=2)
        took = time.monotonic() - began

    assert failed.value.retryable
    assert "no answer within 0.3 s" in failed.value.message
    assert len(server.requests) == 2
    assert took < 1.5


def test_a_body_trickled_past_the_timeout_is_a_timeout() -> None:
    body = {"text": "x" * 200}
    reply = Reply(200, body, chunks=10, chunk_delay=0.1)
    with serving(lambda r: reply) as server, pytest.raises(AgentFailed) as failed:
        run(agent(), server.url(), timeout_seconds="0.35", max_attempts=1)

    assert failed.value.retryable
    assert len(server.requests) == 1


def test_an_answer_larger_than_the_limit_is_refused_while_it_streams() -> None:
    # 50 pieces of 1,000 bytes, 50 ms apart, with no Content-Length: only counting what arrives can stop it.
    reply = Reply(200, b"x" * 50_000, headers={"Content-Type": "text/plain"}, chunks=50, chunk_delay=0.05)
    with serving(lambda r: Reply(**{**reply.__dict__, "declare_length": False})) as server:
        began = time.monotonic()
        with pytest.raises(AgentFailed) as failed:
            run(agent(), server.url(), max_response_bytes=10_000, max_attempts=3)
        took = time.monotonic() - began

    assert not failed.value.retryable
    assert "larger than 10000 bytes" in failed.value.message
    assert len(server.requests) == 1
    assert took < 1.5  # stopped after about 10 pieces, not the 2.5 s the whole body takes


def test_an_answer_declaring_a_length_over_the_limit_is_refused_before_its_body_is_read() -> None:
    reply = Reply(200, b"x" * 50_000, headers={"Content-Type": "text/plain"})
    with serving(lambda r: reply) as server, pytest.raises(AgentFailed, match="larger than 10000 bytes"):
        run(agent(), server.url(), max_response_bytes=10_000)

    assert len(server.requests) == 1


def test_an_answer_compressed_against_the_request_is_refused_unread() -> None:
    reply = Reply(200, b"\x1f\x8b" + b"\x00" * 100, headers={"Content-Encoding": "gzip"})
    with serving(lambda r: reply) as server, pytest.raises(AgentFailed, match="compressed") as failed:
        run(agent(), server.url())

    assert not failed.value.retryable
    assert server.requests[0].headers["accept-encoding"] == "identity"


def test_a_long_text_answer_within_the_limit_is_recorded_cut_and_marked_truncated() -> None:
    with serving(lambda r: Reply(200, "y" * (MAX_RECORDED_CHARS + 500), headers={"Content-Type": "text/plain"})) as s:
        result = run(agent(), s.url())

    assert result.output["truncated"] is True
    assert result.output["body"] == "y" * MAX_RECORDED_CHARS


def test_a_redirect_to_another_host_is_not_followed() -> None:
    with serving(lambda r: Reply(200, {"elsewhere": True})) as other:
        target = other.url("/steal", host="localhost")
        redirect = Reply(307, b"", headers={"Location": target})
        with serving(lambda r: redirect) as server, pytest.raises(AgentFailed) as failed:
            run(agent(hosts=("127.0.0.1", "localhost")), server.url())

    assert not failed.value.retryable
    assert "'localhost'" in failed.value.message and "not followed" in failed.value.message
    assert other.requests == []
    assert len(server.requests) == 1


def test_a_307_to_the_same_origin_is_followed_with_the_same_body_and_key() -> None:
    def respond(request: Request) -> Reply:
        if request.path == "/old":
            return Reply(307, b"", headers={"Location": "/new"})
        return Reply(200, {"moved": True})

    with serving(respond) as server:
        result = run(agent(), server.url("/old"))

    assert result.output["body"] == {"moved": True}
    assert [r.path for r in server.requests] == ["/old", "/new"]
    assert server.requests[0].body == server.requests[1].body
    assert server.calls == {f"{RUN_ID}:1": 2}


def test_a_302_even_to_the_same_host_is_not_followed() -> None:
    redirect = Reply(302, b"", headers={"Location": "/new"})
    with serving(lambda r: redirect) as server, pytest.raises(AgentFailed, match="302"):
        run(agent(), server.url("/old"))

    assert len(server.requests) == 1


def test_a_url_whose_host_left_the_allow_list_is_refused_at_run_time_without_a_call() -> None:
    with serving(lambda r: Reply(200, {})) as server:
        step = call(agent(), server.url())
        with pytest.raises(AgentFailed) as failed:
            agent(hosts=("example.com",)).run(step)

    assert not failed.value.retryable
    assert server.requests == []


@pytest.mark.parametrize(
    ("config", "loc", "message"),
    [
        ({"url": "ftp://127.0.0.1/x"}, ("url",), "http:// or https://"),
        ({"url": "file:///etc/passwd"}, ("url",), "http:// or https://"),
        ({"url": "http://user:pw@127.0.0.1/x"}, ("url",), "credentials"),
        ({"url": "http://10.0.0.1/x"}, ("url",), "not in FLOW_HTTP_AGENT_HOSTS"),
        ({"url": "http://127.0.0.1:99999/x"}, ("url",), "valid URL"),
        ({"url": "http://127.0.0.1/" + "a" * 2048}, ("url",), "at most 2048"),
        ({}, ("url",), "required"),
        ({"url": "http://127.0.0.1/", "timeout_seconds": 31}, ("timeout_seconds",), "from 0.1 to 30"),
        ({"url": "http://127.0.0.1/", "timeout_seconds": "soon"}, ("timeout_seconds",), "number"),
        ({"url": "http://127.0.0.1/", "max_attempts": 6}, ("max_attempts",), "from 1 to 5"),
        ({"url": "http://127.0.0.1/", "max_response_bytes": 2**21}, ("max_response_bytes",), "from 1 to"),
        ({"url": "http://127.0.0.1/", "headers": {}}, ("headers",), "not a setting"),
    ],
)
def test_a_config_the_agent_cannot_use_is_refused_with_the_problem_at_its_loc(
    config: dict[str, Any], loc: tuple[str, ...], message: str
) -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        agent().validate_config(config)

    (problem,) = invalid.value.problems
    assert problem.loc == loc
    assert message in problem.msg


def test_every_problem_of_a_config_is_listed() -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        agent().validate_config({"url": "gopher://x", "timeout_seconds": 0, "max_attempts": True, "extra": 1})

    assert {p.loc for p in invalid.value.problems} == {("url",), ("timeout_seconds",), ("max_attempts",), ("extra",)}


def test_with_no_allowed_host_the_agent_refuses_every_url_and_says_how_to_enable_it() -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        HttpAgent(frozenset()).validate_config({"url": "https://api.example.com/x"})

    assert "FLOW_HTTP_AGENT_HOSTS" in invalid.value.problems[0].msg


def test_a_valid_config_is_normalised_with_its_defaults() -> None:
    assert agent().validate_config({"url": "http://127.0.0.1:8080/x", "timeout_seconds": 2.5}) == {
        "url": "http://127.0.0.1:8080/x",
        "timeout_seconds": "2.5",
        "max_attempts": 3,
        "max_response_bytes": 262144,
    }


def test_a_prompt_that_does_not_compile_is_a_problem_at_define_time() -> None:
    assert agent().prompt_problems("{{ inputs.x ") != []
    assert agent().prompt_problems("{{ inputs.x }}") == []
