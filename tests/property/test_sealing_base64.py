"""The sealed values' base64 (``infrastructure.shared.sealing.unb64``, decoded without the standard library's
wrapper since opening is per value): for any text it answers what ``base64.urlsafe_b64decode`` of the padded
text answers, or fails where that fails, and it opens whatever ``b64`` wrote."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from infrastructure.shared.sealing import b64, unb64

URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
texts = st.text(alphabet=st.sampled_from(URLSAFE + "+/=. \n!é"), max_size=80)


def standard(text: str) -> bytes | type[Exception]:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:  # binascii.Error, and a non-ASCII text's error
        return ValueError


def ours(text: str) -> bytes | type[Exception]:
    try:
        return unb64(text)
    except ValueError:
        return ValueError


@given(st.binary(max_size=200))
def test_what_b64_writes_unb64_reads_back(data: bytes) -> None:
    assert unb64(b64(data)) == data


@given(texts)
def test_any_text_decodes_as_the_standard_librarys_urlsafe_decoder_decodes_it_or_fails_as_it_does(text: str) -> None:
    assert ours(text) == standard(text)
