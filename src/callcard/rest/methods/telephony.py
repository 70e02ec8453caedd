"""``telephony.externalCall.*`` and ``telephony.externalLine.*`` (rest-api.md §9.1–9.6), and the upload
route behind attachRecord's ``uploadUrl``.

The domain (``ExternalCalls``) owns validation order and error texts; this module reads the parameters
the way the platform's REST wrapper casts them, publishes the card events register/show/hide/finish
cause (call-card.md §9), and shapes nothing itself.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain.records import UPLOAD_PATH
from ...errors import BitrixError, error
from ..envelope import json_response
from ..registry import CallContext, Registry
from ..types import BxModel
from .support import PhpFlag, PhpFloat, PhpInt, PhpStr, calling_app, publish

__all__ = ["register_telephony", "upload_routes"]

_SCOPE = "telephony"


def _positive(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None


def _touched(events: list[Any]) -> list[int]:
    return [e.user_id for e in events if e.user_id is not None]


# -- telephony.externalCall.register / finish ----------------------------------------------------------


class RegisterParams(BxModel):
    bx_key_case: ClassVar[Literal["upper", "lower"] | None] = "upper"

    USER_ID: PhpInt | None = Field(None, description="Operator (one of USER_ID / USER_PHONE_INNER)")
    USER_PHONE_INNER: Any = Field(None, description="Operator's inner extension (UF_PHONE_INNER)")
    PHONE_NUMBER: Any = Field(None, description="Client number")
    TYPE: PhpInt | None = Field(
        None, description="1 outgoing, 2 incoming, 3 incoming with redirect, 4 callback, 5 info"
    )
    CALL_START_DATE: Any = Field(None, description="ISO-8601 with time zone; default now")
    CRM_CREATE: PhpFlag | None = Field(None, description="Create a lead when nothing matches (0/1)")
    CRM_SOURCE: PhpStr | None = None
    CRM_ENTITY_TYPE: PhpStr | None = Field(None, description="CONTACT, COMPANY or LEAD")
    CRM_ENTITY_ID: PhpInt | None = None
    SHOW: PhpFlag | None = Field(None, description="Show the call card (default 1)")
    ADD_TO_CHAT: PhpFlag | None = None
    CALL_LIST_ID: PhpInt | None = None
    LINE_NUMBER: PhpStr | None = None
    EXTERNAL_CALL_ID: PhpStr | None = None


def external_call_register(ctx: CallContext, p: RegisterParams) -> dict[str, Any]:
    """§9.1: register the call, look up the CRM and, with SHOW (default 1), open the operator's card."""
    result, events = ctx.services.calls.register(
        ctx.caller.app_id,
        user_id=p.USER_ID,
        user_phone_inner=p.USER_PHONE_INNER,
        phone_number=p.PHONE_NUMBER,
        call_type=p.TYPE,
        call_start_date=p.CALL_START_DATE,
        crm_create=p.CRM_CREATE,
        crm_source=p.CRM_SOURCE or None,
        crm_entity_type=p.CRM_ENTITY_TYPE or None,
        crm_entity_id=_positive(p.CRM_ENTITY_ID),
        show=p.SHOW,
        add_to_chat=p.ADD_TO_CHAT,
        call_list_id=p.CALL_LIST_ID,
        line_number=p.LINE_NUMBER,
        external_call_id=p.EXTERNAL_CALL_ID,
    )
    publish(ctx, events, _touched(events))
    return result  # type: ignore[no-any-return]


class FinishParams(BxModel):
    bx_key_case: ClassVar[Literal["upper", "lower"] | None] = "upper"

    CALL_ID: Any = Field(None, description="CALL_ID from register (must be a string)")
    USER_ID: PhpInt | None = None
    USER_PHONE_INNER: Any = None
    DURATION: PhpInt | None = Field(None, description="Seconds; 0 by default")
    COST: PhpFloat | None = None
    COST_CURRENCY: PhpStr | None = None
    STATUS_CODE: PhpStr | None = Field(None, description="200, 304, 603, 603-S, 403, 404, 486, ... OTHER")
    FAILED_REASON: PhpStr | None = None
    RECORD_URL: PhpStr | None = Field(None, description="Deprecated: use attachRecord")
    VOTE: PhpInt | None = None
    ADD_TO_CHAT: PhpFlag | None = None


def external_call_finish(ctx: CallContext, p: FinishParams) -> dict[str, Any]:
    """§9.2: hide the operator's card (auto-close rules), then write the statistics record."""
    record, events = ctx.services.calls.finish(
        ctx.caller.app_id,
        call_id=p.CALL_ID,
        user_id=p.USER_ID,
        user_phone_inner=p.USER_PHONE_INNER,
        duration=p.DURATION,
        cost=p.COST,
        cost_currency=p.COST_CURRENCY,
        status_code=p.STATUS_CODE or None,
        failed_reason=p.FAILED_REASON,
        record_url=p.RECORD_URL or None,
        vote=p.VOTE,
        add_to_chat=p.ADD_TO_CHAT,
    )
    publish(ctx, events, _touched(events))
    return record  # type: ignore[no-any-return]


# -- show / hide ---------------------------------------------------------------------------------------


class ShowHideParams(BxModel):
    bx_key_case: ClassVar[Literal["upper", "lower"] | None] = "upper"

    CALL_ID: PhpStr = Field("", description="The call; unknown → result false")
    USER_ID: Any = Field(None, description="int or int[]; default: the registering user")


def external_call_show(ctx: CallContext, p: ShowHideParams) -> bool:
    """§9.3: open the call's card for each user; ``false`` for an unknown call."""
    found, events = ctx.services.calls.show(p.CALL_ID, p.USER_ID)
    publish(ctx, events, _touched(events))
    return bool(found)


def external_call_hide(ctx: CallContext, p: ShowHideParams) -> bool:
    """§9.3: auto-close the call's card for each user; ``false`` for an unknown call."""
    found, events = ctx.services.calls.hide(p.CALL_ID, p.USER_ID)
    publish(ctx, events, _touched(events))
    return bool(found)


# -- attachRecord / searchCrmEntities ------------------------------------------------------------------


class AttachRecordParams(BxModel):
    bx_key_case: ClassVar[Literal["upper", "lower"] | None] = "upper"

    CALL_ID: Any = None
    RECORD_URL: Any = Field(None, description="A link to the record (wins over FILENAME)")
    FILENAME: Any = Field(None, description=".wav or .mp3")
    FILE_CONTENT: Any = Field(None, description="base64; without it an uploadUrl is returned")


def external_call_attach_record(ctx: CallContext, p: AttachRecordParams) -> dict[str, Any]:
    """§9.4: ``{FILE_ID}`` or ``{uploadUrl, fieldName: "file"}``; only after finish."""
    result, _ = ctx.services.calls.attach_record(
        p.CALL_ID, record_url=p.RECORD_URL, filename=p.FILENAME, file_content=p.FILE_CONTENT
    )
    return result  # type: ignore[no-any-return]


class SearchParams(BxModel):
    bx_key_case: ClassVar[Literal["upper", "lower"] | None] = "upper"

    PHONE_NUMBER: PhpStr = ""


def external_call_search(ctx: CallContext, p: SearchParams) -> list[dict[str, Any]]:
    """§9.5: the CRM entities with this number, ``[]`` when none."""
    found, _ = ctx.services.calls.search_crm_entities(p.PHONE_NUMBER)
    return found  # type: ignore[no-any-return]


# -- telephony.externalLine.* --------------------------------------------------------------------------


class LineParams(BxModel):
    bx_key_case: ClassVar[Literal["upper", "lower"] | None] = "upper"

    NUMBER: Any = Field(None, description="The line's number")
    NAME: Any = None
    CRM_AUTO_CREATE: Any = Field(None, description="Y/N, default Y")


def external_line_add(ctx: CallContext, p: LineParams) -> dict[str, Any]:
    result, _ = ctx.services.calls.line_add(calling_app(ctx).id, p.NUMBER, p.NAME, p.CRM_AUTO_CREATE)
    return result  # type: ignore[no-any-return]


def external_line_update(ctx: CallContext, p: LineParams) -> dict[str, Any]:
    result, _ = ctx.services.calls.line_update(calling_app(ctx).id, p.NUMBER, p.NAME, p.CRM_AUTO_CREATE)
    return result  # type: ignore[no-any-return]


def external_line_get(ctx: CallContext, raw: dict[str, Any]) -> list[dict[str, Any]]:
    result, _ = ctx.services.calls.line_get(calling_app(ctx).id)
    return result  # type: ignore[no-any-return]


def external_line_delete(ctx: CallContext, p: LineParams) -> list[Any]:
    result, _ = ctx.services.calls.line_delete(calling_app(ctx).id, p.NUMBER)
    return result  # type: ignore[no-any-return]


def register_telephony(registry: Registry) -> None:
    """Add the ten telephony methods to ``registry``."""
    app_only = {"scope": _SCOPE, "app_only": True}
    registry.add("telephony.externalCall.register", external_call_register, params=RegisterParams,
                 summary="Register an external call and show its card", **app_only)
    registry.add("telephony.externalCall.finish", external_call_finish, params=FinishParams,
                 summary="Finish an external call: hide the card, write statistics", **app_only)
    registry.add("telephony.externalCall.show", external_call_show, params=ShowHideParams,
                 summary="Show the call card to users", **app_only)
    registry.add("telephony.externalCall.hide", external_call_hide, params=ShowHideParams,
                 summary="Hide the call card from users", **app_only)
    registry.add("telephony.externalCall.attachRecord", external_call_attach_record,
                 params=AttachRecordParams, summary="Attach a record to a finished call", **app_only)
    registry.add("telephony.externalCall.searchCrmEntities", external_call_search, params=SearchParams,
                 scope=_SCOPE, summary="Find CRM entities by phone number")
    registry.add("telephony.externalLine.add", external_line_add, params=LineParams,
                 summary="Add an external line", **app_only)
    registry.add("telephony.externalLine.update", external_line_update, params=LineParams,
                 summary="Rename an external line or change CRM_AUTO_CREATE", **app_only)
    registry.add("telephony.externalLine.get", external_line_get, params=None,
                 summary="The calling app's external lines", **app_only)
    registry.add("telephony.externalLine.delete", external_line_delete, params=LineParams,
                 summary="Delete an external line", **app_only)


# -- the uploadUrl of attachRecord -----------------------------------------------------------------------


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {
        "Access-Control-Allow-Origin": "*"
    }


async def _file_part(request: Request) -> tuple[str, bytes | None]:
    """(filename, content) of the multipart field ``file``; (``""``, None) when there is none."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return "", None
    try:
        form = await request.form()
    except Exception as exc:  # starlette's MultiPartException / HTTPException on a broken body
        raise error("INVALID_REQUEST", f"Malformed multipart body: {exc}") from None
    try:
        part = form.get("file")
        if isinstance(part, UploadFile):
            return part.filename or "", await part.read()
        return "", None
    finally:
        await form.close()


def upload_routes(services: Any) -> list[Route]:
    """The route serving attachRecord's ``uploadUrl`` (``UPLOAD_PATH``): a multipart POST with the field
    ``file`` → ``{"result": {"FILE_ID": n}}``, or the error envelope. Mount it before ``rest_routes``:
    the ``/rest`` catch-all would otherwise answer ERROR_METHOD_NOT_FOUND for it."""

    async def upload(request: Request) -> Response:
        headers = _cors(request)
        if request.method == "OPTIONS":
            headers.update({
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": request.headers.get(
                    "access-control-request-headers", "Content-Type"),
                "Access-Control-Max-Age": "600",
            })
            return Response(status_code=204, headers=headers)
        try:
            filename, content = await _file_part(request)
            result = services.calls.accept_upload(request.path_params["token"], filename, content)
        except BitrixError as exc:
            return json_response(exc.envelope(), exc.status, headers)
        return json_response({"result": result}, 200, headers)

    return [Route(UPLOAD_PATH, upload, methods=["POST", "OPTIONS"], name="telephony_record_upload")]
