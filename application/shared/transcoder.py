"""The transcoder of Chronicle's events: the library's JSON format, read with orjson.

Encoding is the library's (``json``'s C encoder, transcodings through ``default``), so the stored bytes
are the same as every earlier version wrote. Decoding parses with orjson, then turns the library's
``{"_type_": name, "_data_": ...}`` objects into values, innermost first, as the library's
``object_hook`` does: the same objects for the same bytes.

Where orjson would not read the bytes as the library does, the library's decoder reads them:
- text orjson refuses (``NaN``, numbers beyond a double's range, lone surrogates, invalid UTF-8);
- text in which orjson found a float: it reads an integer beyond 64 bits as a float, where ``json`` keeps
  it exact, and the two cannot be told apart afterwards (few of Chronicle's events hold a float: amounts
  are decimals, stored as text).
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder


class _Float(Exception):
    """orjson's reading holds a float: maybe an integer beyond 64 bits it read inexactly."""


class ChronicleTranscoder(JSONTranscoder):
    """``JSONTranscoder`` whose ``decode`` parses with orjson (a projection decodes every event it folds)."""

    def decode(self, data: bytes) -> Any:
        try:
            return self._typed(orjson.loads(data))
        except (orjson.JSONDecodeError, _Float):
            # NaN, 1e400, a float, ...: read by the library's decoder (or refused with its own error)
            return super().decode(data)

    def _typed(self, value: Any) -> Any:
        """``value`` with every transcoded object in it decoded, innermost first (the library's object hook);
        raises ``_Float`` where it holds a float."""
        kind = type(value)
        if kind is dict:
            for key, item in value.items():
                item_kind = type(item)
                if item_kind is dict or item_kind is list:
                    value[key] = self._typed(item)
                elif item_kind is float:
                    raise _Float
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self._decode_obj(value)
        elif kind is list:
            for index, item in enumerate(value):
                item_kind = type(item)
                if item_kind is dict or item_kind is list:
                    value[index] = self._typed(item)
                elif item_kind is float:
                    raise _Float
        elif kind is float:
            raise _Float
        return value
