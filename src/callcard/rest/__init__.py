"""The Bitrix-shaped ``/rest`` surface: parameter decoding, envelopes, auth, limits, batch, the registry.

Method authors need only::

    from callcard.rest import BxModel, BxInt, BxStr, BxBool, CallContext, ListResult, Registry
"""

from .auth import AuthResolver, Caller
from .envelope import PAGE_SIZE, ListResult, page
from .registry import CallContext, Method, Registry
from .types import (
    BxBool,
    BxDateTime,
    BxDict,
    BxFile,
    BxFloat,
    BxInt,
    BxList,
    BxModel,
    BxRequiredStr,
    BxStr,
    parse_params,
)

__all__ = [
    "PAGE_SIZE",
    "AuthResolver",
    "BxBool",
    "BxDateTime",
    "BxDict",
    "BxFile",
    "BxFloat",
    "BxInt",
    "BxList",
    "BxModel",
    "BxRequiredStr",
    "BxStr",
    "CallContext",
    "Caller",
    "ListResult",
    "Method",
    "Registry",
    "page",
    "parse_params",
]
