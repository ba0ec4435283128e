"""File names as text: one lossless, readable form for every name the file system allows.

Python hands a name that is not valid UTF-8 (b'bad\\xffname.png', written by another
system) over as a str with lone surrogates ('bad\\udcffname.png'); such a str opens
the file, but UTF-8 writers (CSV, JSON, SQLite, Qt) refuse or drop it. Wherever a
name is written, stored or shown, it goes through `name_text`:

- a valid name is itself, unchanged (databases and CSVs written before stay valid);
- each byte that is not UTF-8 becomes U+FFFD (the replacement character) followed by
  its two hex digits: 'bad\\ufffdFFname.png', shown as "bad�FFname.png";
- a U+FFFD already in a name is doubled, so that the form reads back unambiguously.

`name_from_text` gives the original back: what a stored key opens and compares as.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_ESCAPED = re.compile(f"{REPLACEMENT}({REPLACEMENT}|[0-9A-F]{{2}})")
_NEEDS_ESCAPE = re.compile(f"[\ud800-\udfff{REPLACEMENT}]")


def name_text(name: str) -> str:
    """The lossless, valid-UTF-8, readable form of a file name or relative path."""
    if not _NEEDS_ESCAPE.search(name):
        return name  # nearly every name: no copy, no encoding
    out = []
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (Python's surrogateescape)
            out.append(f"{REPLACEMENT}{code - 0xDC00:02X}")
        elif 0xD800 <= code <= 0xDFFF:  # a lone UTF-16 surrogate (Windows names): not representable as bytes
            out.append(f"{REPLACEMENT}{REPLACEMENT}")
        elif char == REPLACEMENT:
            out.append(REPLACEMENT * 2)
        else:
            out.append(char)
    return "".join(out)


def name_from_text(text: str) -> str:
    """The name `name_text` was made from (as Python names the file: undecodable bytes as surrogates)."""
    if REPLACEMENT not in text:
        return text

    def original(match: re.Match) -> str:
        code = match.group(1)
        return REPLACEMENT if code == REPLACEMENT else chr(0xDC00 + int(code, 16))

    return _ESCAPED.sub(original, text)
