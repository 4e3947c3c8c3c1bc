"""How the suite is cut for its two xdist workers (tests/conftest.py `_scheduling_unit`)."""

from __future__ import annotations

import pytest

from tests.conftest import _scheduling_unit

W = "tests/integration/test_whatif.py"
D = "tests/deployment"
L = f"{D}/local_executor"  # one deployment, shared by the folder's modules


@pytest.mark.parametrize(
    ("nodeid", "unit"),
    [
        (f"{L}/test_airflow_real.py::test_backfill", L),
        (f"{L}/test_remediation_approval.py::test_a_rejected_rollback[duckdb]", L),
        (f"{D}/test_celery.py::test_a_1000_model_hour", f"{D}/test_celery.py"),
        (f"{D}/test_browser.py::test_form[duckdb]", f"{D}/test_browser.py"),
        (f"{W}::test_reruns[postgres]", f"{W}[postgres]"),
        (f"{W}::test_reruns[duckdb]", f"{W}[duckdb]"),
        (f"{W}::test_list_and_drop", W),
        ("tests/unit/x/test_y.py::test_z[duckdb-3]", "tests/unit/x/test_y.py[duckdb]"),
        ("tests/unit/x/test_y.py::test_z[myduckdb]", "tests/unit/x/test_y.py"),
        ("tests/unit/x/test_y.py::C::test_z[0.5]", "tests/unit/x/test_y.py"),
    ],
)
def test_a_module_is_one_unit_per_backend_and_a_deployment_one_unit(nodeid, unit):
    assert _scheduling_unit(nodeid) == unit
