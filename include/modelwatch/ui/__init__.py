"""The operator's view in the Airflow UI: a FastAPI app that an Airflow plugin mounts.

`queries` reads the warehouse (pure functions of a `Warehouse`, testable without a browser),
`render` turns what they return into HTML (the view's pages and the per-run report share it),
and `app` serves it behind Airflow's own authentication. Only `app` imports Airflow.
"""
