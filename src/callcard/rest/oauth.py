"""The local OAuth server: ``/oauth/token/`` with ``grant_type=refresh_token`` (rest-api.md §8).

Apps renew their tokens here exactly as against ``oauth.bitrix.info``: the old refresh token dies, old
access tokens live until they expire. Parameters come in the query or a form/JSON body.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import BitrixError, error
from .envelope import json_response
from .params import read_request_params

__all__ = ["oauth_routes"]


def oauth_routes(services: Any) -> list[Route]:
    directory = services.directory

    async def token(request: Request) -> Response:
        try:
            decoded = await read_request_params(request)
            params = dict(decoded.params)
            grant = str(params.get("grant_type") or "")
            if grant != "refresh_token":
                raise error("INVALID_REQUEST", "Only grant_type=refresh_token is supported", status=400)
            pair = directory.tokens.refresh(
                str(params.get("client_id") or ""),
                str(params.get("client_secret") or ""),
                str(params.get("refresh_token") or ""),
            )
            app, user = directory.tokens.resolve_access_token(pair.access_token)
            body = directory.oauth_payload(app, int(user["id"]), pair)
            body.pop("application_token", None)  # the OAuth server does not hand it out (rest-api.md §8)
            return json_response(body)
        except BitrixError as exc:
            return json_response(exc.envelope(), exc.status)

    return [
        Route("/oauth/token/", token, methods=["GET", "POST"]),
        Route("/oauth/token", token, methods=["GET", "POST"]),
    ]
