"""Small HTTP helpers for the end-to-end tests."""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

PASSWORD = "s3cretpass"


def register(client: TestClient, email_address: str, password: str = PASSWORD, **fields: Any) -> dict[str, Any]:
    body = {"email": email_address, "password": password, "first_name": "Ada", "last_name": "Lovelace", **fields}
    response = client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def mail_token(mail_dir: Path, to: str, subject_word: str, timeout: float = 15.0) -> str:
    """The token of the newest mail to ``to`` whose subject mentions ``subject_word`` (the mail policy sends it from
    its own runner thread, beside every other follower: waited for as long as ``eventually`` waits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes())
            if message["To"].lower() == to.lower() and subject_word in message["Subject"]:
                body = message.get_payload(decode=True).decode()
                match = re.search(r"^\s{4}(\S+)$", body, re.MULTILINE)
                assert match, body
                return match.group(1)
        time.sleep(0.02)
    raise AssertionError(f"No {subject_word!r} mail to {to} in {mail_dir}")


def verified_account(client: TestClient, mail_dir: Path, email_address: str, password: str = PASSWORD) -> str:
    account_id = register(client, email_address, password)["id"]
    token = mail_token(mail_dir, email_address, "Verify")
    response = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 200, response.text
    return str(account_id)


def login(client: TestClient, email_address: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"email": email_address, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def embedded_server(
    tmp_path: Path, settings: dict[str, str] | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A real uvicorn process serving the app on the embedded store, on 127.0.0.1; answers (port, process).

    ``settings`` are environment variables for it, applied last."""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "ARGON2_MEMORY_COST_KIB": "1024", "ARGON2_TIME_COST": "1"}
    for name in ("DATABASE_URL", "REDIS_URL", "SUPERADMIN_EMAIL", "SUPERADMIN_PASSWORD"):
        env.pop(name, None)
    env.update(settings or {})
    command = [sys.executable, "-m", "uvicorn", "interfaces.http.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own interpreter and app
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=20)
