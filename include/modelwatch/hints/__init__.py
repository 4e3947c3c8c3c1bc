"""Troubleshooting hints: from "what moved" to "why", for every alert.

`model` holds the hint and the alert it explains; `labels` reads who shares what (team,
cluster, node pool, upstream dependencies); `changes` finds deploys, changes and our own
actions just before the anomaly; `signatures` new or surging log signatures; `shared` other
models in trouble behind the same label; `drift` the drift table, when there is one; `build`
ranks them and makes the `mw_hints` rows. docs/hints.md says how and why.
"""
