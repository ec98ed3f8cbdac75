"""The API describes itself: every route's problems, examples and security are in its OpenAPI entry, and /docs
works offline. No database: the app is built, never started (its lifespan is not entered)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from domain.accounts.values import check_password_strength
from domain.inventory.item import SKU_PATTERN
from domain.shared.access import Role
from domain.shared.errors import NotFound, VersionMismatch
from domain.work_orders.new_order import ORDER_NUMBER_PATTERN
from domain.work_orders.work_order import WorkOrderStatus
from infrastructure.shared.settings import Settings
from interfaces.http import shared
from interfaces.http.accounts import schemas as accounts_schemas
from interfaces.http.app import create_app
from interfaces.http.flows import schemas as flows_schemas
from interfaces.http.inventory import schemas as inventory_schemas
from interfaces.http.operations import schemas as operations_schemas
from interfaces.http.shared import problems
from interfaces.http.shared import schemas as shared_schemas
from interfaces.http.shared.problems import PROBLEM_JSON, problem_body
from interfaces.http.subscriptions import schemas as subscriptions_schemas
from interfaces.http.trades import schemas as trades_schemas
from interfaces.http.work_orders import schemas as work_orders_schemas

SCHEMA_MODULES: tuple[ModuleType, ...] = (
    accounts_schemas,
    work_orders_schemas,
    inventory_schemas,
    operations_schemas,
    shared_schemas,
    subscriptions_schemas,
    trades_schemas,
    flows_schemas,
)
# Bases and generics, not shapes a route sends or answers on their own (a Page's example is its item's).
NOT_A_SHAPE = {shared_schemas.Strict, shared_schemas.Page}
PUBLIC = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/login/2fa"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/verify-email"),
    ("post", "/api/v1/auth/forgot-password"),
    ("post", "/api/v1/auth/reset-password"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/api/v1/plans"),
    ("post", "/api/v1/billing/webhooks/{provider}"),  # signed by the provider instead
}
PROBLEM_REFS = {"#/components/schemas/ProblemDetails", "#/components/schemas/ValidationProblem"}
VALIDATION_REF = "#/components/schemas/ValidationProblem"
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(Settings(database_url=None, data_dir=tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations_of(spec: dict[str, Any]) -> list[Operation]:
    """Every documented operation under /api/v1, and /health and /ready."""
    found = [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and (path.startswith("/api/v1/") or path in {"/health", "/ready"})
    ]
    assert len(found) > 40  # the walk sees every context's routes
    return found


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        prefix, _, name = schema["$ref"].rpartition("/")
        assert prefix == "#/components/schemas", schema["$ref"]
        schema = spec["components"]["schemas"][name]
    return schema


def has_example(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An example on the schema, or (for a list or a Page) on its item schema."""
    schema = resolve(spec, schema)
    if schema.get("examples") or "example" in schema:
        return True
    if schema.get("type") == "array":
        return has_example(spec, schema.get("items", {}))
    items = schema.get("properties", {}).get("items")
    if items is not None and {"total", "limit", "offset"} <= set(schema["properties"]):
        return has_example(spec, items)
    return False


def media_has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    return bool(media.get("example") or media.get("examples")) or has_example(spec, media.get("schema", {}))


def problem_refs(response: dict[str, Any]) -> set[str]:
    """The problem schemas a response may carry (one ``$ref``, or the refs of an ``anyOf``)."""
    content = response.get("content", {})
    if set(content) != {PROBLEM_JSON}:
        return set()
    schema = content[PROBLEM_JSON].get("schema", {})
    return {s.get("$ref", "") for s in schema.get("anyOf", [schema])}


def is_problem(response: dict[str, Any]) -> bool:
    refs = problem_refs(response)
    return bool(refs) and refs <= PROBLEM_REFS


def models() -> Iterator[type[BaseModel]]:
    """Every request and response model the schema modules define."""
    for module in SCHEMA_MODULES:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
                and value not in NOT_A_SHAPE
                and "[" not in value.__name__  # Page[...] aliases: their item models are checked
            ):
                yield value


def examples_of(model: type[BaseModel]) -> list[Any]:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict), f"{model.__name__} has no json_schema_extra examples"
    examples = extra.get("examples")
    assert isinstance(examples, list)
    return examples


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON value, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def test_every_schema_module_model_is_found() -> None:
    names = {model.__name__ for model in models()}

    assert {"RegisterRequest", "TokenPair", "WorkOrderCreate", "ItemPublic", "Readiness", "ValidationProblem"} <= names


@pytest.mark.parametrize("model", list(models()), ids=lambda model: model.__name__)
def test_every_model_has_examples_that_it_accepts(model: type[BaseModel]) -> None:
    examples = examples_of(model)

    assert examples, f"{model.__name__} has no examples"
    for example in examples:
        model.model_validate(example)


@pytest.mark.parametrize("model", list(models()), ids=lambda model: model.__name__)
def test_examples_follow_the_servers_rules(model: type[BaseModel]) -> None:
    for example in examples_of(model):
        for key, value in walk(example):
            if key in {"password", "new_password"}:
                check_password_strength(value)  # raises WeakPassword
            elif key == "order_number":
                assert re.match(ORDER_NUMBER_PATTERN, value), value
            elif key == "sku":
                assert re.match(SKU_PATTERN, value), value
            elif key == "role":
                assert value in set(Role), value
            elif key == "roles":
                assert set(value) <= set(Role), value
            elif key == "by_status":
                assert set(value) <= set(WorkOrderStatus), value


def test_request_models_refuse_unknown_fields() -> None:
    requests = [model for model in models() if issubclass(model, shared_schemas.Strict)]

    assert len(requests) >= 15
    assert [model.__name__ for model in requests if model.model_config.get("extra") != "forbid"] == []


def test_work_order_examples_are_orders_the_domain_accepts() -> None:
    for example in examples_of(work_orders_schemas.WorkOrderCreate):
        assert work_orders_schemas.WorkOrderCreate.model_validate(example).to_domain().problems() == []


def test_every_operation_documents_a_problem_response(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations_of(spec):
        statuses = {int(status) for status, response in operation["responses"].items() if is_problem(response)}
        # /health and /ready take no input and need no token: the only problem they can answer is a 500.
        wanted = range(400, 600) if path in {"/health", "/ready"} else range(400, 500)
        if not statuses & set(wanted):
            missing.append(f"{method.upper()} {path}")

    assert missing == []


def test_every_error_response_is_a_problem_unless_it_declares_its_own_body(spec: dict[str, Any]) -> None:
    not_problems = [
        f"{method.upper()} {path} {status}"
        for method, path, operation in operations_of(spec)
        for status, response in operation["responses"].items()
        if int(status) >= 400 and not is_problem(response)
    ]

    # Readiness answers 503 with its checks, as JSON; nothing else answers an error outside a problem.
    assert not_problems == ["GET /ready 503"]
    assert spec["paths"]["/ready"]["get"]["responses"]["503"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}
    }


def test_an_operation_with_input_documents_a_validation_problem_and_only_then(spec: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in operations_of(spec):
        has_input = bool(operation.get("parameters") or operation.get("requestBody"))
        response = operation["responses"].get("422")
        # The server's 422 is a ValidationProblem, or a domain rule's problem (weak_password, import_rejected).
        documented = response is not None and problem_refs(response) == PROBLEM_REFS
        if has_input != documented:
            wrong.append(f"{method.upper()} {path}")

    assert wrong == []


def test_every_json_request_body_has_an_example(spec: dict[str, Any]) -> None:
    bodies = [
        (f"{method.upper()} {path}", operation["requestBody"]["content"]["application/json"])
        for method, path, operation in operations_of(spec)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]

    assert len(bodies) > 20
    assert [name for name, media in bodies if not media_has_example(spec, media)] == []


def test_every_success_response_has_an_example(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations_of(spec):
        successes = {status: r for status, r in operation["responses"].items() if status.startswith("2")}
        assert successes, f"{method.upper()} {path} documents no success"
        for status, response in successes.items():
            content = response.get("content", {})
            media = content.get("application/json") or next(iter(content.values()), None)
            if media is None or not media_has_example(spec, media):
                missing.append(f"{method.upper()} {path} {status}")

    assert missing == []


def test_public_routes_need_no_token_and_every_other_route_does(spec: dict[str, Any]) -> None:
    operations = operations_of(spec)
    documented = {(method, path) for method, path, _ in operations}
    public = sorted(f"{m.upper()} {p}" for m, p, op in operations if "security" in op and (m, p) in PUBLIC)
    guarded = sorted(
        f"{m.upper()} {p}"
        for m, p, op in operations
        if (m, p) not in PUBLIC and op.get("security") != [{"OAuth2PasswordBearer": []}]
    )

    assert documented >= PUBLIC
    assert public == []
    assert guarded == []


def test_the_password_flow_gets_its_token_from_the_token_route(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    token_url = scheme["flows"]["password"]["tokenUrl"]
    form = spec["paths"][token_url]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]

    assert token_url == "/api/v1/auth/token"
    assert {"username", "password"} <= set(resolve(spec, form["schema"])["properties"])


def test_routes_name_the_problems_their_dependencies_cannot_show(spec: dict[str, Any]) -> None:
    def statuses(path: str) -> set[str]:
        return {status for status, r in spec["paths"][path]["post"]["responses"].items() if is_problem(r)}

    assert {"401", "403", "423"} <= statuses("/api/v1/auth/login")
    assert {"401", "403", "423"} <= statuses("/api/v1/auth/token")
    assert {"401", "403"} <= statuses("/api/v1/auth/refresh")
    assert "400" in statuses("/api/v1/auth/verify-email")
    assert "400" in statuses("/api/v1/auth/reset-password")


def test_the_problem_examples_are_what_the_server_sends() -> None:
    not_found, stale = examples_of(shared_schemas.ProblemDetails)
    missing = NotFound(not_found["detail"])
    mismatch = VersionMismatch(2, 5)

    assert not_found == problem_body(
        404, missing.code, missing.title, missing.detail, not_found["instance"], not_found["request_id"]
    )
    assert stale == problem_body(
        412, mismatch.code, mismatch.title, mismatch.detail, stale["instance"], stale["request_id"]
    )


def test_the_validation_problem_example_is_what_the_server_sends() -> None:
    (example,) = examples_of(shared_schemas.ValidationProblem)
    app = FastAPI()
    problems.install(app)

    @app.post(example["instance"])
    def register(body: accounts_schemas.RegisterRequest) -> None:
        """Only validates."""

    sent = TestClient(app).post(
        example["instance"],
        json={"email": "ana@", "password": "short", "first_name": "Ana", "last_name": "Silva"},
    )

    def comparable(body: dict[str, Any]) -> dict[str, Any]:
        errors = [{**error, "message": bool(error["message"])} for error in body["errors"]]
        return {**{k: v for k, v in body.items() if k != "request_id"}, "errors": errors}

    assert sent.status_code == 422
    assert sent.headers["content-type"] == PROBLEM_JSON
    assert comparable(sent.json()) == comparable(example)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_nothing_from_a_cdn_and_their_assets_are_served(app: FastAPI, page: str) -> None:
    client = TestClient(app)  # not entered: no lifespan, no database
    html = client.get(page)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    scripts = re.findall(r'<script src="([^"]+)"', html.text)

    assert html.status_code == 200
    assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+/", html.text) == []
    assert scripts and all(url.startswith("/") and not url.startswith("//") for url in scripts)
    assert {url: client.get(url).status_code for url in assets} == dict.fromkeys(assets, 200)
    assert client.get("/openapi.json").status_code == 200


def test_swagger_authorize_has_its_redirect_page(app: FastAPI) -> None:
    html = TestClient(app).get("/docs").text

    assert "/docs/oauth2-redirect" in html
    assert TestClient(app).get("/docs/oauth2-redirect").status_code == 200


def test_the_schema_modules_are_the_http_edges_own() -> None:
    # Guard the list above against a new context's schemas module being forgotten.
    edge = Path(shared.__file__).parents[1]
    on_disk = {path.relative_to(edge).as_posix() for path in edge.glob("*/schemas.py")}

    assert on_disk == {f"{module.__name__.split('.')[2]}/schemas.py" for module in SCHEMA_MODULES}
