"""The OpenAPI 3.1 document of the registered methods (``Registry.openapi()``).

Each method becomes ``POST /rest/{method}`` (GET with query parameters and the webhook form
``/rest/{user_id}/{code}/{method}`` work the same way and are described once in ``info``). Request
bodies come from the parameter models; responses reference the shared envelopes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import CATALOGUE

if TYPE_CHECKING:
    from .registry import Method, Registry

__all__ = ["ENVELOPE_SCHEMAS", "build_openapi"]

_REF = "#/components/schemas/"

ENVELOPE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Time": {
        "type": "object",
        "required": [
            "start",
            "finish",
            "duration",
            "processing",
            "date_start",
            "date_finish",
            "operating_reset_at",
            "operating",
        ],
        "properties": {
            "start": {"type": "number", "description": "unix seconds"},
            "finish": {"type": "number", "description": "unix seconds"},
            "duration": {"type": "number", "description": "seconds"},
            "processing": {"type": "number", "description": "seconds spent in the method"},
            "date_start": {"type": "string", "description": "ISO-8601 with offset"},
            "date_finish": {"type": "string", "description": "ISO-8601 with offset"},
            "operating_reset_at": {"type": "integer", "description": "unix seconds"},
            "operating": {"type": "number", "description": "method seconds used in the current window"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "error_description"],
        "properties": {
            "error": {"type": "string", "enum": sorted(CATALOGUE)},
            "error_description": {"type": "string"},
            "argument": {"type": "string", "description": "the offending parameter (argument errors)"},
        },
    },
}

_ERROR_STATUSES = {
    "400": "Invalid arguments or a method-specific failure",
    "401": "Missing, invalid or expired credentials",
    "403": "Scope, application context or administrator rights missing",
    "404": "Unknown method",
    "429": "Operating time limit reached",
    "500": "Internal server error",
    "503": "Too many requests",
}

_INFO = (
    "Bitrix24-compatible REST methods served by callcard. Every method is also reachable as "
    "GET or POST `/rest/{method}.json` and through an inbound webhook at "
    "`/rest/{user_id}/{code}/{method}`. Bodies may be JSON, urlencoded with PHP-style nested keys, or "
    'multipart; urlencoded strings such as "1", "Y" and "true" are coerced to the declared types.'
)


def _success_schema(method: Method) -> dict[str, Any]:
    result = method.result_schema or {}
    props: dict[str, Any] = {"result": result, "time": {"$ref": _REF + "Time"}}
    if method.paged:
        result = method.result_schema or {"type": "array"}
        props = {
            "result": result,
            "total": {"type": "integer"},
            "next": {"type": "integer", "description": "offset of the next page; absent on the last"},
            "time": {"$ref": _REF + "Time"},
        }
    return {"type": "object", "required": ["result", "time"], "properties": props}


def _operation(method: Method, request_schema: dict[str, Any] | None) -> dict[str, Any]:
    error_ref = {"$ref": _REF + "Error"}
    responses: dict[str, Any] = {
        "200": {
            "description": "Success",
            "content": {"application/json": {"schema": _success_schema(method)}},
        }
    }
    for status, text in _ERROR_STATUSES.items():
        responses[status] = {"description": text, "content": {"application/json": {"schema": error_ref}}}
    body_schema = request_schema if request_schema is not None else {"type": "object"}
    operation: dict[str, Any] = {
        "operationId": method.name,
        "summary": method.summary or method.name,
        "tags": [method.scope or "global"],
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {"schema": body_schema},
                "application/x-www-form-urlencoded": {"schema": body_schema},
            },
        },
        "responses": responses,
        # A webhook URL carries its credentials in the path instead (see info.description).
        "security": [{"auth": []}],
        "x-bitrix-scope": method.scope,
        "x-bitrix-app-only": method.app_only,
        "x-bitrix-admin-only": method.admin_only,
        "x-bitrix-batchable": method.batchable,
    }
    if method.description:
        operation["description"] = method.description
    return operation


def build_openapi(registry: Registry, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every method in ``registry``."""
    from .registry import model_schemas

    methods = list(registry)
    models = list({m.params: None for m in methods if m.params is not None})
    schemas, defs = model_schemas(models)
    components: dict[str, Any] = dict(ENVELOPE_SCHEMAS)
    components.update(defs)
    paths: dict[str, Any] = {}
    for method in methods:
        request_schema = schemas.get(method.params) if method.params is not None else None
        paths[f"/rest/{method.name}"] = {"post": _operation(method, request_schema)}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": _INFO},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "auth": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "auth",
                    "description": "OAuth access token (AUTH_ID); also accepted as `auth` in the body",
                },
            },
        },
    }
