"""Paths as git prints them: C-style quoted (``"t\\303\\251st"``) when they hold special bytes."""

from __future__ import annotations

_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(text: str) -> str:
    """A path as git quoted it, unquoted (octal escapes are UTF-8 bytes); unquoted text is returned as is."""
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return text
    out = bytearray()
    body, i = text[1:-1], 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 == len(body):
            out += c.encode()
            i += 1
            continue
        nxt = body[i + 1]
        octal = body[i + 1:i + 4]
        if len(octal) == 3 and all(d in "01234567" for d in octal):
            out.append(int(octal, 8) & 0xFF)
            i += 4
        else:
            out.append(_ESCAPES.get(nxt, ord(nxt)))
            i += 2
    return out.decode("utf-8", errors="surrogateescape")
