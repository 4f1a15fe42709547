"""Read a shmswarm Arrow recording with pyarrow and numpy only (no shmswarm needed).

    python3 read_arrow.py run.arrows            # shape, fields, frame numbers and times
    python3 read_arrow.py run.arrows --sql      # also a DuckDB query over a frame,time,agent,<fields> table

docs/RECORDING.md shows this code; the tests run it.
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc


def read_recording(path):
    """(frames, agents, fields) array, the field names, the schema metadata, and per frame
    (writer's frame number, publish time in s since the epoch)."""
    reader = ipc.open_stream(path)
    meta = {k.decode(): v.decode() for k, v in (reader.schema.metadata or {}).items()}
    frames, stamps = [], []
    while True:
        try:
            batch, custom = reader.read_next_batch_with_custom_metadata()
        except StopIteration:
            break  # the end-of-stream marker, or the end of a killed recording after a whole frame
        except (pa.ArrowInvalid, OSError):
            # A killed recording that ends inside a frame (in its header: ArrowInvalid; in its
            # body: OSError "Expected to be able to read … bytes"): the frames before it are whole.
            break
        # One column per field, one row per agent: a (agents, fields) matrix per frame.
        frames.append(np.column_stack([c.to_numpy() for c in batch.columns]))
        stamps.append((int(custom[b"shmswarm.frame"]), int(custom[b"shmswarm.time_ns"]) / 1e9))
    return np.stack(frames), reader.schema.names, meta, stamps


def long_table(path):
    """One row per agent per frame: frame, time, agent, <fields> (a pyarrow Table; DuckDB and
    pandas read it as it is)."""
    reader = ipc.open_stream(path)
    parts = []
    while True:
        try:
            batch, custom = reader.read_next_batch_with_custom_metadata()
        except (StopIteration, pa.ArrowInvalid, OSError):
            break  # the end, or a killed recording's last, partial frame (as in read_recording)
        n = batch.num_rows
        head = {
            "frame": pa.array(np.full(n, int(custom[b"shmswarm.frame"]), dtype=np.int64)),
            "time": pa.array(np.full(n, int(custom[b"shmswarm.time_ns"]) / 1e9)),
            "agent": pa.array(np.arange(n, dtype=np.int64)),
        }
        parts.append(pa.table({**head, **{name: batch.column(name) for name in batch.schema.names}}))
    return pa.concat_tables(parts)


if __name__ == "__main__":
    path = sys.argv[1]
    data, fields, meta, stamps = read_recording(path)
    print("shape", data.shape, "dtype", data.dtype)
    print("fields", ",".join(fields))
    print("source", meta["shmswarm.source"])
    print("frames", " ".join(str(f) for f, _ in stamps))
    print("first", " ".join(repr(float(v)) for v in data[0, 0]))
    if "--sql" in sys.argv:
        import duckdb

        frames_table = long_table(path)  # DuckDB finds it by its variable name
        first = fields[0]
        rows = duckdb.sql(f'SELECT frame, count(*) AS agents, min("{first}") AS lo FROM frames_table GROUP BY frame ORDER BY frame').fetchall()
        for frame, agents, lo in rows:
            print("sql", frame, agents, lo)
