"""Running model_health in-process (`modelwatch.airflow.dagtest`, the demo's and the profile
benchmark's way): the Airflow home prepared without subprocesses, and dag.test()'s idle polls
cut without touching any other sleep."""

from __future__ import annotations

import time

from modelwatch.airflow import dagtest


def test_the_home_is_migrated_and_the_pool_created_once() -> None:
    from airflow.models.pool import Pool

    first = dagtest.prepare_home("modelwatch_test_pool", 1)
    again = dagtest.prepare_home("modelwatch_test_pool", 3)
    assert first in ("pool modelwatch_test_pool created (1 slot)",
                     "pool modelwatch_test_pool exists (1 slot): kept")  # fmt: skip
    assert again == "pool modelwatch_test_pool exists (1 slot): kept"  # an operator's slots stay
    assert Pool.get_pool("modelwatch_test_pool").slots == 1


def test_only_the_loop_s_own_sleeps_are_cut(monkeypatch) -> None:
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)  # what the real sleep was asked for

    def loop() -> None:
        time.sleep(1)

    def task() -> None:
        time.sleep(0.3)

    with dagtest.idle_polls_cut(loop.__code__) as cut:
        loop()
        task()
        time.sleep(2)
    assert cut == [1]
    assert asked == [dagtest.IDLE_POLL_S, 0.3, 2]
    time.sleep(5)  # put back on leaving
    assert asked[-1] == 5


def test_a_schema_is_checked_once_and_every_value_still_validated(monkeypatch) -> None:
    import jsonschema
    import pytest
    from airflow.sdk import Param

    real = jsonschema.validate
    checked: list[object] = []
    cls = jsonschema.validators.validator_for({})
    check = cls.check_schema.__func__

    def counted(c: type, schema: object) -> None:
        checked.append(schema)
        check(c, schema)

    monkeypatch.setattr(cls, "check_schema", classmethod(counted))
    models = Param([], "models", type="array", items={"type": "string"})
    with dagtest.schema_checks_once() as seen:
        for _ in range(3):
            assert models.resolve(["model-001"]) == ["model-001"]
        with pytest.raises(Exception, match="is not of type 'string'"):
            models.resolve([7])  # a bad value fails as before, its schema checked or not
        assert checked == [models.schema] and len(seen) == 1
        with pytest.raises(jsonschema.SchemaError):  # a broken schema is still caught
            jsonschema.validate(1, {"type": "no such type"})
    assert jsonschema.validate is real  # put back on leaving
    models.resolve(["model-002"])
    assert checked.count(models.schema) == 2
