"""The one text rule: what the stores cannot hold is refused, and every body's text field is bounded."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field, ValidationError

from domain.shared.text import unstorable
from interfaces.http.shared.schemas import MULTI_LINE, Strict


@pytest.mark.parametrize("text", ["\x00", "a\x1fb", "\x7f", "\x85", "\x9f", "\ud800", "\udfff", "a\rb"])
def test_control_characters_and_lone_surrogates_are_unstorable(text: str) -> None:
    assert unstorable(text) is not None
    assert unstorable(text, multi_line=True) is not None


@pytest.mark.parametrize("text", ["Ana Silva", "Ærøskøbing", "名前", "emoji \U0001f600", "\u00a0nbsp"])
def test_ordinary_text_is_storable(text: str) -> None:
    assert unstorable(text) is None


def test_line_feeds_and_tabs_are_storable_only_in_multi_line_text() -> None:
    assert unstorable("a\nb\tc") is not None
    assert unstorable("a\nb\tc", multi_line=True) is None


def test_a_body_model_with_an_unbounded_text_field_cannot_be_defined() -> None:
    with pytest.raises(TypeError, match="comment"):

        class Unbounded(Strict):
            comment: str | None = None


class Note(Strict):
    title: Annotated[str, Field(max_length=10)]
    body: Annotated[str, Field(max_length=100), MULTI_LINE]
    tags: list[Annotated[str, Field(max_length=10)]] = []


def test_every_text_field_of_a_body_is_checked_including_nested_ones() -> None:
    assert Note(title="t", body="one\ntwo", tags=["x"]).body == "one\ntwo"
    for bad in ({"title": "a\nb"}, {"body": "a\x00"}, {"tags": ["ok", "b\x01"]}):
        with pytest.raises(ValidationError) as error:
            Note.model_validate({"title": "t", "body": "b", **bad})
        assert error.value.errors()[0]["type"] == "unstorable_text"
