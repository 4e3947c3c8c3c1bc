"""How the suite is cut for its two xdist workers (tests/conftest.py `_scheduling_unit`)."""

from __future__ import annotations

import pytest

from tests.conftest import _scheduling_unit

W = "tests/integration/test_whatif.py"


@pytest.mark.parametrize(
    ("nodeid", "unit"),
    [
        ("tests/deployment/test_celery.py::test_a_1000_model_hour", "real-servers"),
        ("tests/deployment/test_browser.py::test_form[duckdb]", "real-servers"),
        (f"{W}::test_reruns[postgres]", f"{W}[postgres]"),
        (f"{W}::test_reruns[duckdb]", f"{W}[duckdb]"),
        (f"{W}::test_list_and_drop", W),
        ("tests/unit/x/test_y.py::test_z[duckdb-3]", "tests/unit/x/test_y.py[duckdb]"),
        ("tests/unit/x/test_y.py::test_z[myduckdb]", "tests/unit/x/test_y.py"),
        ("tests/unit/x/test_y.py::C::test_z[0.5]", "tests/unit/x/test_y.py"),
    ],
)
def test_a_module_is_one_unit_per_backend_and_the_deployments_one_in_all(nodeid, unit):
    assert _scheduling_unit(nodeid) == unit
