"""Messages to the client written with orjson, so that pre-encoded JSON (the Beads view's rows) goes out
as it is, without being decoded and encoded again.

pygls 2.1 encodes every outgoing message with ``json.dumps`` in ``JsonRPCProtocol._send_data`` and has no
other hook for it; this protocol class overrides that one method (pygls is pinned in pyproject.toml).
Everything else (lsprotocol's attrs types via pygls' own converter, enums, plain dicts) is encoded as pygls
would; a handler may put an ``orjson.Fragment`` (already-encoded JSON) anywhere in its answer.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import orjson
from pygls.exceptions import JsonRpcInternalError
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)

Fragment = orjson.Fragment


class OrjsonProtocol(LanguageServerProtocol):
    def _default(self, value: Any) -> Any:
        if isinstance(value, tuple):  # a namedtuple (pygls' view of custom params): a JSON array, as json.dumps does
            return list(value)
        return self._serialize_message(value)

    def encode(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self._default, option=orjson.OPT_NON_STR_KEYS)

    def _send_data(self, data: Any) -> None:
        if not data:
            return
        if self.writer is None:
            log.error("Unable to send data, no available transport!")
            return
        try:
            body = self.encode(data)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("Sending data: %s", body[:2000].decode(errors="replace"))
            if self._include_headers:
                header = (f"Content-Length: {len(body)}\r\n"  # bytes: the body is UTF-8, not ASCII-escaped
                          f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n").encode()
                body = header + body
            written = self.writer.write(body)
            if inspect.isawaitable(written):
                asyncio.ensure_future(written)
        except BrokenPipeError:
            log.exception("Error sending data. BrokenPipeError")
            raise
        except Exception as error:
            log.exception("Error sending data")
            self._server._report_server_error(error, JsonRpcInternalError)
