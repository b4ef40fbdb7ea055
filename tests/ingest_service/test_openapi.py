"""The OpenAPI document, and fuzzing the API from it (schemathesis, in-process WSGI)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection

from afissue_logging import wire
from ingest_service import IngestSettings
from ingest_service.models import ISSUE_TYPES, PRIORITIES, IssueEvent


class TestOpenApiDocument:
    """``/api/v1/openapi.json``."""

    def test_document_is_generated_from_the_models(self, client: FlaskClient) -> None:
        """The event schema in the document is the pydantic model's."""
        document = client.get("/api/v1/openapi.json").get_json()

        assert document["openapi"].startswith("3.1")
        event = document["components"]["schemas"]["IssueEvent"]
        assert event["required"] == ["title"]
        assert set(event["properties"]) == set(IssueEvent.model_fields)
        assert "/api/v1/issues" in document["paths"]

    def test_a_batch_documents_its_drop_report(self, client: FlaskClient) -> None:
        """``dropped`` is published: identifier reasons, bounded integer counts."""
        document = client.get("/api/v1/openapi.json").get_json()
        batch = document["components"]["schemas"]["EventBatch"]
        [dropped] = [o for o in batch["properties"]["dropped"]["anyOf"] if o["type"] == "object"]

        assert dropped["propertyNames"] == {"pattern": wire.IDENTIFIER_PATTERN}
        assert dropped["additionalProperties"]["maximum"] == wire.MAX_COUNT
        assert dropped["maxProperties"] == wire.MAX_DROP_REASONS

    def test_type_and_priority_are_enums_of_their_vocabularies(self, client: FlaskClient) -> None:
        """The allowed values of type and priority are published as enums."""
        document = client.get("/api/v1/openapi.json").get_json()
        properties = document["components"]["schemas"]["IssueEvent"]["properties"]

        for field, vocabulary in (("type", ISSUE_TYPES), ("priority", PRIORITIES)):
            [enum] = [option["enum"] for option in properties[field]["anyOf"] if "enum" in option]
            assert enum == list(vocabulary), field

    def test_the_request_object_is_published_with_its_bounds(self, client: FlaskClient) -> None:
        """An event's ``request`` is documented, with the wire's length and status bounds."""
        document = client.get("/api/v1/openapi.json").get_json()
        request = document["components"]["schemas"]["RequestInfo"]["properties"]
        bounds = {
            name: next(o["maxLength"] for o in request[name]["anyOf"] if "maxLength" in o)
            for name in ("method", "path", "route", "query_string", "request_id", "user_id")
        }
        assert bounds == {
            "method": wire.MAX_REQUEST_METHOD_CHARS,
            "path": wire.MAX_REQUEST_PATH_CHARS,
            "route": wire.MAX_REQUEST_ROUTE_CHARS,
            "query_string": wire.MAX_REQUEST_QUERY_CHARS,
            "request_id": wire.MAX_REQUEST_TEXT_CHARS,
            "user_id": wire.MAX_REQUEST_TEXT_CHARS,
        }
        [status] = [o for o in request["status"]["anyOf"] if o.get("type") == "integer"]
        assert (status["minimum"], status["maximum"]) == (100, 599)

    def test_breadcrumbs_are_published_with_their_bounds(self, client: FlaskClient) -> None:
        """An event's ``breadcrumbs`` are documented: how many, and each text's length."""
        document = client.get("/api/v1/openapi.json").get_json()
        schemas = document["components"]["schemas"]
        listed = schemas["IssueEvent"]["properties"]["breadcrumbs"]["anyOf"]
        [array] = [option for option in listed if option.get("type") == "array"]
        assert array["maxItems"] == wire.MAX_BREADCRUMBS
        crumb = schemas["Breadcrumb"]["properties"]
        assert crumb["message"]["maxLength"] == wire.MAX_BREADCRUMB_MESSAGE_CHARS
        assert crumb["logger"]["maxLength"] == crumb["thread"]["maxLength"] == (
            wire.MAX_BREADCRUMB_TEXT_CHARS
        )
        [data] = [o for o in crumb["data"]["anyOf"] if o.get("type") == "object"]
        assert data["maxProperties"] == wire.MAX_BREADCRUMB_DATA_KEYS
        assert set(schemas["Breadcrumb"]["required"]) == {"timestamp", "level"}


@pytest.fixture
def api_schema(make_app: Any, settings: IngestSettings) -> Any:
    """The app's own OpenAPI document, loaded by schemathesis over WSGI."""
    app: Flask = make_app(settings)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_yields_a_server_error(case: Any) -> None:
    """Generated requests (valid and invalid) never get a 5xx, and every answer matches
    the documented status codes and schemas. A batch with invalid items is answered 202
    with per-item rejections by design, hence no negative_data_rejection check."""
    case.call_and_validate(excluded_checks=[negative_data_rejection])
