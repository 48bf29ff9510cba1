"""The SQL rewriting for PostgreSQL (harvester/store/dialect.py)."""

from __future__ import annotations

from fedcat.harvester.store.dialect import to_postgres


def test_placeholders_json_and_null_safe_comparisons() -> None:
    sql = ("SELECT json_extract(access_json, '$.security') AS s FROM records INDEXED BY records_pending_id"
           " WHERE a IS ? AND b IS NOT c AND d IS NULL AND e IS NOT NULL AND f LIKE '%? IS x' AND g = ?")
    assert to_postgres(sql) == (
        "SELECT (access_json::jsonb ->> 'security') AS s FROM records"
        " WHERE a IS NOT DISTINCT FROM %s AND b IS DISTINCT FROM c AND d IS NULL AND e IS NOT NULL"
        " AND f LIKE '%? IS x' AND g = %s")


def test_a_percent_outside_quotes_is_doubled() -> None:
    assert to_postgres("SELECT 5 % 2, 'a%b', \"col?\" FROM t WHERE x = ?") == \
        "SELECT 5 %% 2, 'a%b', \"col?\" FROM t WHERE x = %s"
