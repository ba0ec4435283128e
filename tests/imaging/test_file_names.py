import os

import pytest

from zsad_desktop.imaging import ImageLoadError
from zsad_desktop.imaging.file_names import name_from_text, name_text

NAMES = [
    "plain.png",
    "Ünïcødé/写真.png",
    "a b,c\"d'\n.png",
    os.fsdecode(b"bad\xffname.png"),
    os.fsdecode(b"dir\xe9/x\x80\xfe.png"),
    os.fsdecode(b"\xed\xb2\x80.png"),
    "already\ufffdFF.png",
    "\ufffd\ufffd.png",
    os.fsdecode(b"mixed\xff\xef\xbf\xbdFF.png"),  # \xef\xbf\xbd: a real U+FFFD
]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_has_a_utf8_text_that_gives_it_back(name):
    text = name_text(name)
    text.encode("utf-8")  # would raise on a surrogate
    assert name_from_text(text) == name


def test_valid_names_are_their_own_text_and_odd_bytes_show_with_their_value():
    assert name_text("Ünïcødé/写真.png") == "Ünïcødé/写真.png"
    assert name_text(os.fsdecode(b"bad\xffname.png")) == "bad\ufffdFFname.png"


def test_texts_of_different_names_differ():
    assert len({name_text(name) for name in NAMES}) == len(NAMES)


def test_a_load_error_names_the_file_in_printable_text(tmp_path):
    path = tmp_path / os.fsdecode(b"bad\xffname.png")
    path.write_bytes(b"no image")
    error = ImageLoadError(path, "not a readable image")
    assert "bad\ufffdFFname.png: not a readable image" in str(error) and error.path == path
    str(error).encode("utf-8")
