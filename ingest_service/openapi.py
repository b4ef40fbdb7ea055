"""The OpenAPI 3.1 document of the API, generated from :mod:`ingest_service.models`."""

from __future__ import annotations

import functools
from typing import Any

from pydantic.json_schema import models_json_schema

from ingest_service.models import (
    AcceptedResponse,
    BatchResponse,
    ErrorResponse,
    EventBatch,
    IssueEvent,
)

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{model}"


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorResponse")}}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before sending again.",
                "schema": {"type": "integer"},
            }
        }
    return response


def _health_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document served at ``/api/v1/openapi.json`` (built once)."""
    _, top = models_json_schema(
        [
            (IssueEvent, "validation"),
            (EventBatch, "validation"),
            (AcceptedResponse, "serialization"),
            (BatchResponse, "serialization"),
            (ErrorResponse, "serialization"),
        ],
        ref_template=_REF,
    )
    schemas = top.get("$defs", {})
    issues_post = {
        "operationId": "postIssues",
        "summary": "Report one issue event or a batch of them.",
        "description": (
            "202 means Kafka confirmed every accepted event. In a batch each item is "
            "accepted or rejected on its own."
        ),
        "security": [{"bearerAuth": []}, {}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": _REF.format(model="IssueEvent")},
                            {"$ref": _REF.format(model="EventBatch")},
                        ]
                    }
                }
            },
        },
        "responses": {
            "202": {
                "description": "Accepted: Kafka has the event(s).",
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": _REF.format(model="AcceptedResponse")},
                                {"$ref": _REF.format(model="BatchResponse")},
                            ]
                        }
                    }
                },
            },
            "400": _error("Malformed JSON, invalid UTF-8 or invalid gzip."),
            "401": _error("Missing or unknown token."),
            "403": _error("The body names another service than the token."),
            "413": _error("A size limit was exceeded (body, batch, string, frames, depth)."),
            "415": _error("Content-Type is not application/json."),
            "422": _error("The event does not match the schema."),
            "429": _error("The service's rate limit is used up.", retry_after=True),
            "503": _error("Kafka did not confirm; send again later.", retry_after=True),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "afissue ingest API",
            "version": "1",
            "description": "Errors logged by Python services become deduplicated issues.",
        },
        "paths": {
            "/api/v1/issues": {"post": issues_post},
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Each dependency's status.",
                    "responses": {
                        "200": _health_response("Every dependency is reachable."),
                        "503": _health_response("A dependency is down."),
                    },
                }
            },
            "/api/health/live": {
                "get": {
                    "operationId": "live",
                    "summary": "The process is serving.",
                    "responses": {"200": _health_response("Alive.")},
                }
            },
            "/api/health/ready": {
                "get": {
                    "operationId": "ready",
                    "summary": "Kafka is reachable, so events can be accepted.",
                    "responses": {
                        "200": _health_response("Ready."),
                        "503": _health_response("Not ready."),
                    },
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
