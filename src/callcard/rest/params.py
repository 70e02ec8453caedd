"""Request parameters decoded the way the platform's PHP front controller decodes them (rest-api.md §2).

* The query string and the body are merged; **body keys win** (top-level ``array_replace``).
* ``application/json`` bodies are JSON objects. Anything else that is not multipart — urlencoded,
  ``text/plain`` or no Content-Type at all (the legacy BX24 library) — is parsed like PHP's
  ``parse_str``: ``a[b][0][c]=1`` nests, ``name[]=x`` appends, numeric keys stay (string) dict keys.
* ``multipart/form-data`` uses the same nesting; a file part becomes ``[filename, base64]``.
* ``bx24_*`` query keys (b24jssdk bookkeeping) are dropped; ``auth`` is taken out of the parameters.

A malformed JSON body is a client error (``INVALID_REQUEST``, 400), never a 500. The platform itself
silently treats it as an empty body, which then fails later with a less useful error.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from .. import jsoncodec
from ..errors import BitrixError, error

__all__ = [
    "RequestParams",
    "assign_php_key",
    "decode_body",
    "merge_params",
    "parse_php_query",
    "php_keys",
    "pop_auth",
    "read_request_params",
]

#: PHP's ``max_input_nesting_level``: deeper keys are ignored, as PHP ignores them.
MAX_NESTING = 64
#: Query keys that SDKs add for their own bookkeeping and that never reach a method.
SDK_KEY_PREFIX = "bx24_"


@dataclass(frozen=True)
class RequestParams:
    """The merged, decoded parameters of one request, with ``auth`` taken out."""

    params: dict[str, Any]
    auth: str | None


def php_keys(key: str) -> list[str | None] | None:
    """Split a PHP form key into its path: ``a[b][]`` -> ``["a", "b", None]`` (None = append).

    Returns None for a key PHP would drop (empty base name). As in PHP, text after a closing bracket
    that does not open another bracket is ignored, and an unmatched first ``[`` makes the key literal.
    """
    open_at = key.find("[")
    if open_at < 0:
        return [key] if key else None
    base = key[:open_at]
    if not base:
        return None
    if key.find("]", open_at) < 0:
        return [key]
    path: list[str | None] = [base]
    pos = open_at
    while pos < len(key) and key[pos] == "[":
        close = key.find("]", pos + 1)
        if close < 0:
            break
        inner = key[pos + 1 : close]
        path.append(inner if inner else None)
        pos = close + 1
    return path


def _is_php_int(key: str) -> bool:
    # PHP turns canonical decimal strings into integer keys ("5", not "05" or "+5").
    return key.isdigit() and (key == "0" or not key.startswith("0"))


def _next_index(node: Mapping[str, Any]) -> str:
    ints = [int(k) for k in node if _is_php_int(k)]
    return str(max(ints) + 1) if ints else "0"


def assign_php_key(target: dict[str, Any], key: str, value: Any) -> None:
    """Store ``value`` under the PHP form ``key`` in ``target`` (nested dicts; later values win)."""
    path = php_keys(key)
    if path is None or len(path) > MAX_NESTING:
        return
    node = target
    for depth, segment in enumerate(path):
        name = _next_index(node) if segment is None else segment
        if depth == len(path) - 1:
            node[name] = value
            return
        child = node.get(name)
        if not isinstance(child, dict):
            child = {}
            node[name] = child
        node = child


def parse_php_query(query: str | bytes, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parse an urlencoded string like PHP's ``parse_str`` (a trailing ``&`` and blank values are fine)."""
    if isinstance(query, bytes):
        query = query.decode("utf-8", errors="replace")
    result: dict[str, Any] = {} if into is None else into
    for key, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        assign_php_key(result, key, value)
    return result


def _media_type(content_type: str | None) -> str:
    media = _MEDIA_TYPES.get(content_type)
    if media is None:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if len(_MEDIA_TYPES) < 64:  # the same few headers, over and over
            _MEDIA_TYPES[content_type] = media
    return media


_MEDIA_TYPES: dict[str | None, str] = {}


def _bad_json(detail: str) -> BitrixError:
    return error("INVALID_REQUEST", f"Request body is not a valid JSON object: {detail}")


def decode_json(body: bytes) -> dict[str, Any]:
    """A JSON request body as a dict; an empty body is ``{}``, PHP's empty ``[]`` too."""
    if not body or body.isspace():  # what body.strip() would leave empty, without the copy
        return {}
    try:
        value = jsoncodec.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_json(str(exc)) from None
    if isinstance(value, dict):
        return value
    if value == []:
        return {}
    raise _bad_json(f"got {type(value).__name__}")


def decode_body(content_type: str | None, body: bytes) -> dict[str, Any]:
    """Decode a non-multipart body: JSON for ``application/json``, PHP urlencoded for anything else."""
    if _media_type(content_type) == "application/json":
        return decode_json(body)
    return parse_php_query(body.strip())


def merge_params(query: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters overlaid with body parameters (body wins, top level only, as ``array_replace``)."""
    merged = dict(query)
    merged.update(body)
    return merged


def pop_auth(params: dict[str, Any]) -> str | None:
    """Remove ``auth`` from ``params`` and return the access token it carried (None when absent/empty)."""
    raw = params.pop("auth", None)
    if isinstance(raw, dict):
        # Outbound-event style ``auth[access_token]=...`` posted back by a handler.
        raw = raw.get("access_token")
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def _drop_sdk_keys(query: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in query.items() if not k.lower().startswith(SDK_KEY_PREFIX)}


async def _multipart(request: Request) -> dict[str, Any]:
    result: dict[str, Any] = {}
    try:
        form = await request.form()
    except Exception as exc:  # starlette raises MultiPartException / HTTPException on bad input
        raise error("INVALID_REQUEST", f"Malformed multipart body: {exc}") from None
    try:
        items: Iterable[tuple[str, Any]] = form.multi_items()
        for key, value in items:
            if isinstance(value, UploadFile):
                content = await value.read()
                assign_php_key(result, key, [value.filename or "", base64.b64encode(content).decode("ascii")])
            else:
                assign_php_key(result, key, value)
    finally:
        await form.close()
    return result


async def _read_body(request: Request) -> bytes:
    """``await request.body()`` without Starlette's async generator, which costs more than the rest of
    reading a small body. Same messages, same ``ClientDisconnect``; the bytes are left where Starlette
    keeps them (``_body``), so a later ``body()`` / ``json()`` / ``stream()`` still works."""
    if hasattr(request, "_body") or request._stream_consumed:
        return await request.body()  # already read (or being streamed): Starlette knows what to do
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            request._is_disconnected = True
            raise ClientDisconnect()
    request._stream_consumed = True
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body
    return body


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def read_request_params(request: Request) -> RequestParams:
    """Decode a Starlette request into merged parameters and the ``auth`` token.

    The token is looked up in the merged parameters first, then in an ``Authorization: Bearer`` header.
    Bodies of GET/HEAD requests are ignored, as PHP only reads POST input.
    """
    # The raw bytes (decoded as UTF-8) rather than request.url.query: building the URL object is the
    # costliest step of a small request.
    raw_query = request.scope.get("query_string", b"")
    query = _drop_sdk_keys(parse_php_query(raw_query)) if raw_query else {}
    body: dict[str, Any] = {}
    if request.method not in ("GET", "HEAD"):
        content_type = request.headers.get("content-type")
        if _media_type(content_type) == "multipart/form-data":
            body = await _multipart(request)
        else:
            body = decode_body(content_type, await _read_body(request))
    params = merge_params(query, body) if query else body  # body: a fresh dict of our own
    token = pop_auth(params) or _bearer(request)
    return RequestParams(params=params, auth=token)
