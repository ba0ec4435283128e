"""The column type of file paths: any name the file system allows, stored as valid UTF-8 text.

SQLite's driver refuses a str with the surrogates Python gives to names that are not
UTF-8; this type stores `imaging.file_names.name_text` of the path (the name itself
for every valid one, so existing databases need no migration) and hands back the
original, which opens the file. Comparisons (`==`, `in_`) go through the same form.
"""

from __future__ import annotations

from sqlalchemy import Dialect, String
from sqlalchemy.types import TypeDecorator

from zsad_desktop.imaging.file_names import name_from_text, name_text


class FileNameText(TypeDecorator):
    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else name_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else name_from_text(value)
