"""Running model_health in-process (`modelwatch.airflow.dagtest`, the demo's and the profile
benchmark's way): the Airflow home prepared without subprocesses, dag.test()'s idle polls cut
without touching any other sleep, and the library calls it repeats kept for what they return.
The runs of model_health in this folder go through these shortcuts (conftest.dag_test)."""

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


def test_a_dependant_is_built_once_per_arguments_and_fastapi_s_builder_is_put_back() -> None:
    from fastapi.dependencies import utils

    real = utils.get_dependant

    def auth(token: str) -> str:
        return token

    def other(n: int) -> int:
        return n

    with dagtest.dependants_kept() as kept:
        first = utils.get_dependant(path="/x/{token}", call=auth, name="auth")
        assert utils.get_dependant(path="/x/{token}", call=auth, name="auth") is first
        assert utils.get_dependant(path="/x", call=other) is not first
        assert [p.name for p in first.path_params] == ["token"] and len(kept) == 2
        scoped = utils.get_dependant(path="/x", call=other, parent_oauth_scopes=["a"])
        assert scoped.oauth_scopes == ["a"] and len(kept) == 3  # a list argument is keyed too
    assert utils.get_dependant is real
    assert utils.get_dependant(path="/x/{token}", call=auth) is not first


def test_one_type_adapter_per_type_validating_as_pydantic_s() -> None:
    import pytest
    from airflow.sdk.execution_time import task_runner
    from pydantic import JsonValue, TypeAdapter, ValidationError

    real = task_runner.TypeAdapter
    with dagtest.type_adapters_kept() as kept:
        adapter = task_runner.TypeAdapter(JsonValue)
        assert task_runner.TypeAdapter(JsonValue) is adapter and list(kept) == [JsonValue]
        assert adapter.validate_python({"a": [1, "b"]}) == {"a": [1, "b"]}
        with pytest.raises(ValidationError):
            adapter.validate_python({"a": object()})
        assert task_runner.TypeAdapter(int).validate_python("3") == 3
    assert task_runner.TypeAdapter is real is TypeAdapter


def test_the_dag_bundle_is_parsed_and_written_once_while_inside(monkeypatch) -> None:
    from airflow.dag_processing import dagbag as module

    parsed: list[dict] = []
    written: list[tuple] = []

    class Bag:
        def __init__(self, **kwargs: object) -> None:
            parsed.append(kwargs)

    monkeypatch.setattr(module, "BundleDagBag", Bag)
    monkeypatch.setattr(module, "sync_bag_to_db", lambda *a, **k: written.append(a))
    with dagtest.dag_files_parsed_once() as synced:
        for _ in range(3):  # what dag.test() does on every call
            bag = module.BundleDagBag(dag_folder="/d", bundle_path="/d", bundle_name="b")
            module.sync_bag_to_db(bag, "b", None)
        other = module.BundleDagBag(dag_folder="/e", bundle_path="/e", bundle_name="e")
        module.sync_bag_to_db(other, "e", None)
    assert len(parsed) == 2 and [w[1:] for w in written] == [("b", None), ("e", None)]
    assert len(synced) == 2
    module.sync_bag_to_db(bag, "b", None)  # put back on leaving
    assert module.BundleDagBag is Bag and len(written) == 3
