"""The HTTP agent: POSTs its step's rendered prompt to a configured URL and records the answer.

Config::

    {"url": "https://agents.example.com/v1/step", "timeout_seconds": 10, "max_attempts": 3,
     "max_response_bytes": 262144}

- **Who may be called**: only ``http``/``https`` URLs without credentials, whose host is in
  ``FLOW_HTTP_AGENT_HOSTS`` (empty by default: every step naming this agent is refused when the flow
  is defined). The host is checked again at each run, in case the setting changed.
- **What is sent**: ``{"prompt", "inputs", "flow_id", "run_id", "step", "attempt"}`` as JSON, the
  prompt rendered in the sandbox (``application/flows/builtin/rendering.py``), with
  ``Idempotency-Key: <run id>:<step>`` on every attempt, the same when the step is executed again
  after a crash: the service downstream sees the call at least once and can make it count once.
- **Retries** inside one execution: connection errors, timeouts and 5xx are tried again after
  ``BACKOFF_SECONDS``, doubling each time (at most ``max_attempts`` in all); after the last one the step fails
  retryably (the run's executor decides whether to execute it again). A 4xx is not retried.
- **Redirects**: a 307/308 to the same scheme, host and port is followed (at most ``MAX_REDIRECTS``);
  any other redirect (another host above all) fails the step, unfollowed.
- **The answer** is asked for uncompressed (a compressed one fails the step), read as a stream and
  refused past ``max_response_bytes``; it is recorded as
  ``{"status", "body", "truncated", "attempts"}``: ``body`` is the JSON the service answered (numbers
  with a fraction or an exponent as strings holding their exact digits, so no binary float enters the
  log) or its text, cut to ``MAX_RECORDED_CHARS``; characters the stores cannot hold become U+FFFD.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from application.flows.agents import AgentFailed, ConfigProblem, Json, StepCall, StepResult
from application.flows.builtin.configs import ConfigReader
from application.flows.builtin.rendering import PromptRenderer

MAX_URL = 2048
MAX_RESPONSE_BYTES = 1024 * 1024
DEFAULT_RESPONSE_BYTES = 256 * 1024
MAX_RECORDED_CHARS = 16 * 1024
MAX_ATTEMPTS = 5
MAX_TIMEOUT = Decimal(30)
BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 4.0
MAX_REDIRECTS = 3
_UNSTORABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # domain/shared/text.py, multi-line
_FIELDS = {"url", "timeout_seconds", "max_attempts", "max_response_bytes"}


class _Retry(Exception):
    """One attempt failed in a way another attempt may not."""


class HttpAgent:
    """``http``: one POST per execution (retried within it), the answer recorded as the step's output."""

    name = "http"

    def __init__(
        self,
        allowed_hosts: frozenset[str],
        *,
        renderer: PromptRenderer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._allowed = frozenset(host.lower() for host in allowed_hosts)
        self._renderer = renderer or PromptRenderer()
        self._sleep = sleep
        self._transport = transport

    # --- define time ---------------------------------------------------------------------

    def prompt_problems(self, prompt: str) -> list[ConfigProblem]:
        return self._renderer.problems(prompt, ())

    def validate_config(self, config: Mapping[str, Json]) -> dict[str, Json]:
        reader = ConfigReader(self.name, config, _FIELDS)
        url = reader.text("url", max_length=MAX_URL)
        if url is not None:
            reason = self._refusal(url)
            if reason is not None:
                reader.fail("url", reason)
        timeout = reader.number("timeout_seconds", low=Decimal("0.1"), high=MAX_TIMEOUT, default=Decimal(10))
        attempts = reader.integer("max_attempts", low=1, high=MAX_ATTEMPTS, default=3)
        limit = reader.integer("max_response_bytes", low=1, high=MAX_RESPONSE_BYTES, default=DEFAULT_RESPONSE_BYTES)
        reader.done()
        return {"url": url, "timeout_seconds": str(timeout), "max_attempts": attempts, "max_response_bytes": limit}

    def _refusal(self, url: str) -> str | None:
        """Why ``url`` may not be called (None when it may)."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            _ = parts.port  # a port that is not a number raises here
        except ValueError:
            return "must be a valid URL"
        if parts.scheme not in {"http", "https"}:
            return "must be an http:// or https:// URL"
        if parts.username is not None or parts.password is not None:
            return "must not hold credentials (the config is stored in the flow's history)"
        if not host:
            return "must name a host"
        if not self._allowed:
            return "the HTTP agent is not enabled: FLOW_HTTP_AGENT_HOSTS names no host it may call"
        if host not in self._allowed:
            return f"host {host!r} is not in FLOW_HTTP_AGENT_HOSTS"
        return None

    # --- run time ------------------------------------------------------------------------

    def run(self, call: StepCall) -> StepResult:
        url = str(call.config["url"])
        refused = self._refusal(url)
        if refused is not None:
            raise AgentFailed(f"url {refused}", retryable=False)
        prompt = self._renderer.render(call.prompt, inputs=call.inputs, outputs=call.outputs)
        body = json.dumps(
            {
                "prompt": prompt,
                "inputs": dict(call.inputs),
                "flow_id": str(call.flow_id),
                "run_id": str(call.run_id),
                "step": call.step_index,
                "attempt": call.attempt,
            },
            default=str,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/plain;q=0.9, */*;q=0.1",
            "Idempotency-Key": call.idempotency_key,
            # The size limit counts the bytes as they arrive: a compressed answer could expand past it in one chunk.
            "Accept-Encoding": "identity",
        }
        timeout = float(Decimal(str(call.config.get("timeout_seconds", "10"))))
        attempts = int(call.config.get("max_attempts", 3))
        limit = int(call.config.get("max_response_bytes", DEFAULT_RESPONSE_BYTES))
        last = ""
        with httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the allow-list is about where the call goes
            transport=self._transport,
        ) as client:
            for attempt in range(1, attempts + 1):
                if attempt > 1:
                    self._sleep(min(BACKOFF_SECONDS * 2 ** (attempt - 2), MAX_BACKOFF_SECONDS))
                try:
                    status, content, media_type = self._post(client, url, body, headers, timeout, limit)
                except _Retry as retry:
                    last = str(retry)
                    continue
                return StepResult(output={"status": status, **_recorded(content, media_type), "attempts": attempt})
        raise AgentFailed(f"{last} (after {attempts} attempts)", retryable=True)

    def _post(
        self, client: httpx.Client, url: str, body: bytes, headers: dict[str, str], timeout: float, limit: int
    ) -> tuple[int, bytes, str]:
        for _ in range(MAX_REDIRECTS + 1):
            deadline = time.monotonic() + timeout
            try:
                with client.stream("POST", url, content=body, headers=headers) as response:
                    if response.is_redirect:
                        url = self._redirect_target(url, response)
                        continue
                    if response.status_code >= 500:
                        raise _Retry(f"the service answered {response.status_code}")
                    if response.status_code >= 400:
                        raise AgentFailed(f"the service answered {response.status_code}", retryable=False)
                    encoding = response.headers.get("content-encoding", "identity").strip().lower()
                    if encoding not in {"", "identity"}:
                        raise AgentFailed(f"the answer is compressed ({encoding}), unasked", retryable=False)
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise AgentFailed(f"the answer is larger than {limit} bytes", retryable=False)
                    content = bytearray()
                    for chunk in response.iter_raw():
                        content += chunk
                        if len(content) > limit:
                            raise AgentFailed(f"the answer is larger than {limit} bytes", retryable=False)
                        if time.monotonic() > deadline:
                            raise _Retry(f"the answer took longer than {timeout:g} s")
                    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    return response.status_code, bytes(content), media_type
            except httpx.TimeoutException:
                raise _Retry(f"no answer within {timeout:g} s") from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
                raise AgentFailed(f"the URL cannot be called: {type(error).__name__}", retryable=False) from None
            except httpx.TransportError as error:
                raise _Retry(f"the service could not be reached ({type(error).__name__})") from None
        raise AgentFailed(f"more than {MAX_REDIRECTS} redirects", retryable=False)

    def _redirect_target(self, url: str, response: httpx.Response) -> str:
        location = response.headers.get("location", "")
        target: str = urljoin(url, location)
        here, there = urlsplit(url), urlsplit(target)
        same_origin = (here.scheme, here.hostname, here.port) == (there.scheme, there.hostname, there.port)
        if response.status_code not in {307, 308} or not same_origin:
            where = there.hostname or "?"
            raise AgentFailed(
                f"the service redirected ({response.status_code}) to {where!r}: not followed", retryable=False
            )
        return target


def _recorded(content: bytes, media_type: str) -> dict[str, Json]:
    """The answer as the step's output records it: JSON when it is JSON and fits, else text, cut."""
    text = content.decode("utf-8", errors="replace")
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            parsed = json.loads(text, parse_float=_exact, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            parsed = None
        else:
            storable = _storable(parsed)
            if len(json.dumps(storable)) <= MAX_RECORDED_CHARS:
                return {"body": storable, "truncated": False}
    cut = text[:MAX_RECORDED_CHARS]
    return {"body": _clean(cut), "truncated": len(text) > len(cut)}


def _exact(digits: str) -> str:
    return digits  # a JSON number with a fraction or exponent, kept as its exact text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _storable(value: Any) -> Json:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _storable(item) for key, item in value.items()}
    return value


def _clean(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)
