"""What-if shadow names become a schema and a folder: only 1-40 lower-case letters, digits
and `_`, a letter first, matched whole (a trailing newline is no part of a name)."""

from __future__ import annotations

import pytest

from modelwatch.warehouse import WarehouseError
from modelwatch.warehouse.connect import shadow_schema


@pytest.mark.parametrize("name", ["a", "strict_99", "x" * 40])
def test_plain_names_are_schemas(name: str) -> None:
    assert shadow_schema(name) == f"whatif_{name}"


@pytest.mark.parametrize(
    "name", ["abc\n", "abc\r\n", "\nabc", "ab c", "Abc", "1abc", "x" * 41, "a;b", "", "a\x00"]
)
def test_anything_else_is_refused(name: str) -> None:
    with pytest.raises(WarehouseError, match="lower-case"):
        shadow_schema(name)


def test_identifiers_from_settings_refuse_a_trailing_newline() -> None:
    """SQL identifiers come from settings and are interpolated into queries: `$` would let
    `models\n` through."""
    from modelwatch.config.base import IDENTIFIER
    from modelwatch.config.logs import FIELD
    from modelwatch.warehouse.base import WarehouseError, quote_ident

    assert IDENTIFIER.match("models") and not IDENTIFIER.match("models\n")
    assert FIELD.match("msg") and not FIELD.match("msg\n")
    with pytest.raises(WarehouseError):
        quote_ident("models\n")
