"""Request bodies are counted as they stream: JSON past its limit and uploads past 10 MB are a 413 problem,
with or without a Content-Length, and the server never holds the rest in memory."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from application.work_orders.importing import MAX_UPLOAD_BYTES
from tests.conftest import SUPERADMIN
from tests.e2e.helpers import bearer, embedded_server, login

MB = 1024 * 1024
JSON = {"content-type": "application/json"}
ROOT = Path(__file__).resolve().parents[2]


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("store", ["embedded"])
def test_a_json_body_declared_larger_than_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    assert_too_large(client.post("/api/v1/auth/register", content=b"x" * (MB + 1), headers=JSON))


@pytest.mark.parametrize("store", ["embedded"])
def test_a_chunked_json_body_larger_than_the_limit_is_refused(client: TestClient) -> None:
    assert_too_large(client.post("/api/v1/auth/register", content=chunks(2 * MB), headers=JSON))


@pytest.mark.parametrize("store", ["embedded"])
def test_a_form_body_has_the_json_limit_too(client: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert_too_large(client.post("/api/v1/auth/token", content=chunks(2 * MB), headers=form))


@pytest.mark.parametrize("store", ["embedded"])
def test_an_upload_may_be_larger_than_a_json_body_but_not_larger_than_ten_megabytes(client: TestClient) -> None:
    admin = bearer(login(client, *SUPERADMIN))
    header = b"order_number,client,description,machine,due_date\n"
    row = b"WO-1,Acme,Frame,MIG-1,2030-05-01\n"
    padding = b"," * (2 * MB)  # 2 MB of empty trailing cells: past the JSON limit, within the upload one
    within = header + row[:-1] + padding + b"\n"
    beyond = header + row * (MAX_UPLOAD_BYTES // len(row) + 1)

    accepted = client.post("/api/v1/work-orders/import", files={"file": ("o.csv", within, "text/csv")}, headers=admin)
    refused = client.post("/api/v1/work-orders/import", files={"file": ("o.csv", beyond, "text/csv")}, headers=admin)

    assert accepted.status_code != 413, accepted.text
    assert_too_large(refused)


# The chunked case against a real server process, whose memory can be read from /proc.


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, int]]:
    with embedded_server(tmp_path) as (port, process):
        yield port, process.pid


def post_chunked(port: int, path: str, total: int, content_type: str = "application/json") -> bytes:
    """Send ``total`` bytes as a chunked body while reading the answer, which may come before the end."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}", "Transfer-Encoding: chunked"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = bytearray()
    answered = threading.Event()

    def read() -> None:
        while not answered.is_set():
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            answer.extend(data)
            head, _, body = bytes(answer).partition(b"\r\n\r\n")
            length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                answered.set()
        answered.set()

    reader = threading.Thread(target=read)
    reader.start()
    chunk = b"x" * (256 * 1024)
    try:
        for _ in range(total // len(chunk)):
            if answered.is_set():
                break
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        else:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed: what it sent is already being read
    reader.join(timeout=30)
    sock.close()
    return bytes(answer)


def test_a_fifty_megabyte_chunked_post_is_answered_413_without_growing_the_server(server: tuple[int, int]) -> None:
    port, pid = server
    post_chunked(port, "/api/v1/auth/register", 2 * MB)  # warm up: every code path loaded once
    before = _rss_kib(pid)

    answer = post_chunked(port, "/api/v1/auth/register", 50 * MB)

    grown_mib = (_rss_kib(pid) - before) / 1024
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"payload_too_large"' in answer
    assert grown_mib < 10, f"the server grew by {grown_mib:.1f} MiB"
