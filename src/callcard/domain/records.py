"""Call records: ``telephony.externalCall.attachRecord`` and the upload URL it can hand out
(rest-api.md §9.4). Records attach only to finished calls (rows of ``call_stats``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..clock import Clock, IdSource
from ..errors import error
from ..settings import Settings
from ..store import Row, Store

__all__ = ["UPLOAD_PATH", "CallRecords"]

#: Where the surface serves the multipart upload; ``{token}`` is the one-time upload token.
UPLOAD_PATH = "/rest/upload/{token}"
_NOT_FINISHED = "Call is not found in the statistic table. Looks like it is not finished yet."
_BAD_EXTENSION = "Wrong file extension. Only wav and mp3 are allowed"
_NO_SOURCE = "Required parameters are not set. Request should contain or URL or FILENAME parameter"
_NOT_BASE64 = "File content is not properly encoded. Base64 encoding is expected."


def _extension_ok(filename: str) -> bool:
    # Case-sensitive, as the platform's GetFileExtension check: "a.WAV" is refused there too.
    return filename.rsplit(".", 1)[-1] in ("wav", "mp3") if "." in filename else False


class CallRecords:
    """Records stored in ``call_records``; FILE_ID is the row id."""

    def __init__(self, store: Store, clock: Clock, ids: IdSource, settings: Settings) -> None:
        self.store, self.clock, self.ids, self.settings = store, clock, ids, settings

    def attach(self, call_id: Any, *, record_url: Any = None, filename: Any = None,
               file_content: Any = None) -> dict[str, Any]:
        """``{FILE_ID}`` when the record is attached now, ``{uploadUrl, fieldName: "file"}`` when FILENAME
        comes without FILE_CONTENT. A non-empty RECORD_URL wins over FILENAME (stored as a link: callcard
        is offline and never downloads it); an empty one counts as absent."""
        cid = str(call_id or "")
        if record_url:
            self._finished(cid)
            return {"FILE_ID": self._store(cid, str(filename or ""), url=str(record_url))}
        if filename is None:
            raise error("ERROR_CORE", _NO_SOURCE)
        self._finished(cid)
        name = str(filename)
        if file_content is None:
            token = self.ids.hex(16)
            self.store.insert("call_records", {"call_id": cid, "filename": name, "upload_token": token,
                                               "created_at": self.clock.now()})
            url = self.settings.public_url + UPLOAD_PATH.format(token=token)
            return {"uploadUrl": url, "fieldName": "file"}
        if name == "":
            raise error("ERROR_CORE", "File name is empty")
        if not _extension_ok(name):
            raise error("ERROR_CORE", _BAD_EXTENSION)
        return {"FILE_ID": self._store(cid, name, content=self._decode(file_content))}

    def accept_upload(self, token: str, filename: str, content: bytes | None) -> dict[str, Any]:
        """The multipart upload to an ``uploadUrl``: field ``file``. One upload per token."""
        row = self.store.find_one("call_records", {"upload_token": token}) if token else None
        if row is None:
            raise error("ERROR_CORE", "Upload link is invalid or already used")
        if content is None:
            raise error("ERROR_CORE", "Error: required parameter file is not found")
        if not _extension_ok(filename):
            raise error("ERROR_CORE", _BAD_EXTENSION)
        self._finished(row["call_id"])
        self.store.update("call_records", {"id": row["id"]},
                          {"filename": filename, "content": content, "upload_token": None})
        return {"FILE_ID": int(row["id"])}

    def get(self, file_id: int) -> Row | None:
        return self.store.get("call_records", file_id)

    def for_call(self, call_id: str) -> list[Row]:
        """Attached records of a call (pending uploads excluded)."""
        return [r for r in self.store.find("call_records", {"call_id": call_id}) if not r["upload_token"]]

    def _finished(self, call_id: str) -> None:
        if not call_id or self.store.find_one("call_stats", {"call_id": call_id}) is None:
            raise error("ERROR_CORE", _NOT_FINISHED)

    def _store(self, call_id: str, filename: str, *, url: str = "", content: bytes | None = None) -> int:
        return self.store.insert("call_records", {"call_id": call_id, "filename": filename, "url": url,
                                                  "content": content, "created_at": self.clock.now()})

    @staticmethod
    def _decode(file_content: Any) -> bytes:
        # Legacy BX24 and multipart send files as [filename, base64]; JSON clients send the base64 alone.
        if isinstance(file_content, dict):
            file_content = list(file_content.values())
        if isinstance(file_content, (list, tuple)):
            file_content = file_content[-1] if file_content else ""
        text = "".join(str(file_content).split())
        if not text:
            raise error("ERROR_CORE", "File content is empty.")
        try:
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise error("ERROR_CORE", _NOT_BASE64) from None
        if not data:
            raise error("ERROR_CORE", "File content is empty.")
        return data
