"""The subscription routes name no account and no subscription: a caller can only ever reach their own."""

from __future__ import annotations

from fastapi.routing import APIRoute

from interfaces.http.subscriptions import routers

ADMIN_OR_PROVIDER = ("{code}/price", "{code}/limits", "{code}/retire", "{provider}")


def test_no_subscription_route_names_an_account_or_a_subscription() -> None:
    paths = [route.path for router in routers for route in router.routes if isinstance(route, APIRoute)]

    assert [
        p
        for p in paths
        if "{" in p and not p.endswith(("{code}/price", "{code}/limits", "{code}/retire", "{provider}"))
    ] == []
