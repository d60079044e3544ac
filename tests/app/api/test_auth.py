"""Access control without a server: key parsing, and who may call an app that has no keys."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from app.api.auth import ApiKeyError, parse_api_keys
from app.main import create_app
from core.settings import Settings


def test_keys_come_from_a_comma_list_or_a_file(tmp_path):
    assert parse_api_keys(" a1 , b2,,") == ["a1", "b2"]
    assert parse_api_keys("") == []
    key_file = tmp_path / "keys"
    key_file.write_text("# ops keys\nfirst\n\n  second  \n")
    assert parse_api_keys(f"@{key_file}") == ["first", "second"]
    with pytest.raises(ApiKeyError, match="cannot read the key file"):
        parse_api_keys(f"@{tmp_path / 'missing'}")
    (tmp_path / "empty").write_text("# nothing\n")
    with pytest.raises(ApiKeyError, match="holds no key"):
        parse_api_keys(f"@{tmp_path / 'empty'}")


def _get(app, path: str, client_host: str) -> httpx.Response:
    async def call():
        transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://ragqa") as client:
            return await client.get(path)
    return asyncio.run(call())


def test_without_keys_only_clients_on_this_machine_are_served(tmp_path):
    app = create_app(Settings(index_dir=tmp_path))
    assert _get(app, "/openapi.json", "127.0.0.1").status_code == 200
    assert _get(app, "/openapi.json", "::1").status_code == 200
    remote = _get(app, "/openapi.json", "192.0.2.10")
    assert remote.status_code == 403 and "RAGQA_API_KEYS" in remote.json()["detail"]
    assert _get(app, "/healthz", "192.0.2.10").status_code == 200  # probes work from anywhere


def test_allow_open_serves_other_machines_without_keys(tmp_path):
    app = create_app(Settings(index_dir=tmp_path, allow_open=True))
    assert _get(app, "/openapi.json", "192.0.2.10").status_code == 200
