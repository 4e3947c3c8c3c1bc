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
