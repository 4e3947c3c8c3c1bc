"""Log mining: model log lines into signatures (templates) counted per model-hour.

`sanitize` makes text safe at the input edge (controls stripped, long lines cut); `masking`
hides secrets and turns variable parts into `<*>`; `miner` learns a day's templates (a
Brain-style grouping of our own) and matches lines against them, frozen; `clean` skips bad rows
with a reason; `sources` reads lines from the warehouse, JSON-lines files or
Elasticsearch/OpenSearch (`elastic`); `store` keeps templates, baselines and counts; `step` is
the hourly mining and the daily training; `corpus` mines a whole file (`logs templates`).
"""
