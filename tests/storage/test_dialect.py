"""One portable dialect: no SQLite-only SQL in the features, and the translation of
parameters to PostgreSQL's ``$n``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.errors import StorageError
from core.storage.postgres import inlined, translate

CORE = Path(__file__).resolve().parents[2] / "core"
SQLITE_ONLY = re.compile(
    r"INSERT OR |OR REPLACE INTO|group_concat|json_each|json_extract|\binstr\(|PRAGMA|"
    r"lastrowid|randomblob|\bifnull\(|\biif\(|strftime\('|julianday", re.IGNORECASE)


def test_the_features_write_no_sqlite_only_sql() -> None:
    found = [f"{path.relative_to(CORE)}:{n}: {line.strip()}"
             for path in sorted(CORE.rglob("*.py")) if "storage" not in path.parts
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if SQLITE_ONLY.search(line) and ".strftime(" not in line]
    assert not found, "SQLite-only SQL outside core/storage:\n" + "\n".join(found)


def test_positional_parameters_are_numbered() -> None:
    assert translate("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)", None)


def test_named_parameters_keep_one_number_each() -> None:
    assert translate("SELECT :a, :b, :a") == ("SELECT $1, $2, $1", ("a", "b"))


def test_strings_quoted_names_comments_and_casts_are_left_alone() -> None:
    sql = "SELECT 'it''s ? :x', \"odd?name\", v::text -- why? :y\nFROM t WHERE k = :k"
    assert translate(sql) == (
        "SELECT 'it''s ? :x', \"odd?name\", v::text \nFROM t WHERE k = $1", ("k",))


def test_mixing_both_kinds_is_refused() -> None:
    with pytest.raises(StorageError):
        translate("SELECT ? , :a")


def test_values_written_in_as_literals() -> None:
    assert inlined("INSERT INTO t VALUES (?, ?, ?) -- why?\n", ("it's \\", -7, None)) == (
        "INSERT INTO t VALUES ('it''s \\', -7, NULL) \n")
    assert inlined("SELECT :a, ':a', :b, :a", {"a": "x", "b": 2}) == "SELECT 'x', ':a', 2, 'x'"


@pytest.mark.parametrize("value", [1.5, True, b"x", "nul\x00"])
def test_a_value_with_no_plain_literal_is_not_written_in(value: object) -> None:
    assert inlined("SELECT ?, ?", ("a", value)) is None


def test_numbering_may_start_further_on() -> None:
    assert translate("SELECT ?, ?", 4) == ("SELECT $4, $5", None)
    assert translate("SELECT :a, :b, :a", 3) == ("SELECT $3, $4, $3", ("a", "b"))
