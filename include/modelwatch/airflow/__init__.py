"""modelwatch's Airflow edge: the task adapter, the DAG wiring from the step table, and the
executors' settings that preload the task libraries. Nothing below imports this package."""
