"""Regroup a stream of rows in any order into parts of models, through local scratch files.

A source streams a window's rows as its table holds them (by time); the training history is
written a part of models at a time, sorted by model. Each incoming frame's rows go to their
part's scratch file (Arrow IPC, LZ4), then each part is read back and sorted: one read of the
source and memory of one frame or one part, whatever the fleet's size, where reading each part
from the source scans the whole window once per part.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelwatch import schema
from modelwatch.ingest.normalise import typed_empty

_IPC = pa.ipc.IpcWriteOptions(compression="lz4")


def by_parts(
    frames: Iterable[pd.DataFrame], parts: Sequence[Sequence[str]]
) -> Iterator[pd.DataFrame]:
    """The rows of `frames` (at least one, with the same columns; empty ones count) whose
    model is in a part: one frame per part in the parts' order, sorted by model and time; a
    part without rows is an empty frame of our column types. Rows of models in no part are
    dropped."""
    members = pa.array([str(m) for part in parts for m in part], type=pa.string())
    part_of = np.repeat(np.arange(len(parts)), [len(part) for part in parts])
    stream = iter(frames)
    first = next(stream, None)
    if first is None:  # the columns would be guessed: a stream always ends with one frame
        raise ValueError("no frame to regroup: a stream yields at least one, maybe empty")
    columns = list(first.columns)
    arrow_schema = pa.Schema.from_pandas(typed_empty(columns), preserve_index=False)
    with tempfile.TemporaryDirectory(prefix="modelwatch-regroup-") as scratch:
        files: dict[int, Path] = {}
        with ExitStack() as open_files:
            writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
            for frame in itertools.chain([first], stream):
                ids = pa.array(frame[schema.MODEL_ID], type=pa.string(), from_pandas=True)
                found = pc.index_in(ids, value_set=members).to_numpy(zero_copy_only=False)
                kept = ~np.isnan(found) if found.dtype.kind == "f" else np.ones(len(found), bool)
                if not kept.any():
                    continue
                frame, index = frame[kept], part_of[found[kept].astype(np.int64)]
                for i, rows in frame.groupby(index, sort=False):
                    if i not in writers:
                        files[i] = Path(scratch) / f"{i}.arrow"
                        writers[i] = open_files.enter_context(
                            pa.ipc.new_file(files[i], arrow_schema, options=_IPC)
                        )
                    table = pa.Table.from_pandas(rows[columns], preserve_index=False)
                    writers[i].write_table(table.cast(arrow_schema))
        for i in range(len(parts)):
            if i not in files:
                yield typed_empty(columns)
                continue
            with pa.memory_map(str(files[i])) as source:
                got = pa.ipc.open_file(source).read_all().to_pandas()
            files[i].unlink()  # the disk holds at most the parts still to come
            yield got.sort_values([schema.MODEL_ID, schema.TS], kind="stable").reset_index(
                drop=True
            )
