#!/usr/bin/env python3
"""Frames that `shmswarm publish` sends over NATS, as numpy arrays, without shmswarm.

The wire format is docs/BRIDGES.md ("Over the network: NATS"): one subject per segment, headers
that describe the frame, frames larger than the server's max_payload in chunks, and the latest
frame kept in the JetStream stream SHMSWARM_LAST. Needs nats-py and numpy.

As a script:
    python3 nats_subscriber.py shmswarm.swarm --server nats://sim-host:4222 --frames 10
prints one JSON line per whole frame (shape, dtype, fields, per-field means). Credentials:
--token-file FILE, --creds FILE, or NATS_TOKEN in the environment (never on the command line).

As a module:
    async for meta, array in frames(nc, 'shmswarm.swarm'):   # array: (rows, cols)
        ...
Each message is checked before it is used; a bad one raises nothing, it is dropped and counted
in `problems` (the kind of problem -> how many), and the first of each kind is printed on stderr.
"""
import argparse
import asyncio
import json
import os
import re
import sys

import nats
import numpy as np

WIRE_VERSION = '1'
LAST_STREAM = 'SHMSWARM_LAST'
DEFAULT_MAX_BYTES = 256 * 2**20
# shmswarm dtype name -> numpy dtype (little-endian, as the publisher sends)
DTYPES = {'i8': '<i1', 'u8': '<u1', 'i16': '<i2', 'u16': '<u2', 'i32': '<i4', 'u32': '<u4',
          'i64': '<i8', 'u64': '<u8', 'f32': '<f4', 'f64': '<f8'}
UINT = re.compile(r'^(0|[1-9][0-9]{0,15})$')


class WireProblem(Exception):
    def __init__(self, problem, message):
        super().__init__(message)
        self.problem = problem


def last_subject(subject, chunk):
    return f'shmswarm-last.{subject}.{chunk}'


def decode(h, payload_len, max_bytes=DEFAULT_MAX_BYTES):
    """Check one message's headers (a dict); returns a dict, or raises WireProblem."""
    def need(k):
        if k not in h:
            raise WireProblem('header', f'header {k} is missing')
        return h[k]

    def uint(k, problem='header'):
        v = need(k)
        if not UINT.match(v):
            raise WireProblem(problem, f'header {k} is not a whole number')
        return int(v)

    if need('Shmswarm-Version') != WIRE_VERSION:
        raise WireProblem('version', f"wire format version {h['Shmswarm-Version']!r} is not {WIRE_VERSION}")
    m = {'id': need('Shmswarm-Id'), 'frame': uint('Shmswarm-Frame'), 'name': need('Shmswarm-Name'),
         'host': need('Shmswarm-Host'), 'kind': need('Shmswarm-Kind')}
    if m['kind'] == 'status':
        m['state'] = need('Shmswarm-State')
        return m
    if m['kind'] != 'frame':
        raise WireProblem('header', f"kind {m['kind']!r} is not frame or status")
    shape = re.match(r'^([0-9]{1,20})x([0-9]{1,20})$', need('Shmswarm-Shape'))
    if not shape or int(shape[1]) < 1 or int(shape[2]) < 1:
        raise WireProblem('shape', f"shape {h['Shmswarm-Shape']!r} is not <rows>x<cols>")
    rows, cols = int(shape[1]), int(shape[2])
    dtype = DTYPES.get(need('Shmswarm-Dtype'))
    if dtype is None:
        raise WireProblem('dtype', f"element type {h['Shmswarm-Dtype']!r} is unknown")
    nbytes = rows * cols * np.dtype(dtype).itemsize
    if nbytes > max_bytes:
        raise WireProblem('too-large', f'a {rows}x{cols} frame is {nbytes} bytes, more than {max_bytes}')
    if uint('Shmswarm-Bytes', 'size') != nbytes:
        raise WireProblem('size', f"header Shmswarm-Bytes says {h['Shmswarm-Bytes']}, the shape says {nbytes}")
    fields = h.get('Shmswarm-Fields')
    fields = fields.split(',') if fields else None
    if fields is not None and (len(fields) != cols or len(set(fields)) != cols):
        raise WireProblem('fields', f'{len(fields)} field names for {cols} columns')
    chunk = re.match(r'^([0-9]{1,15})/([0-9]{1,15})$', need('Shmswarm-Chunk'))
    if not chunk or not (0 <= int(chunk[1]) < int(chunk[2]) <= nbytes):
        raise WireProblem('header', f"header Shmswarm-Chunk {h['Shmswarm-Chunk']!r} is wrong")
    if payload_len == 0 or payload_len > nbytes or (chunk[2] == '1' and payload_len != nbytes):
        raise WireProblem('size', f'a chunk of {payload_len} bytes for a {nbytes}-byte frame')
    m.update(rows=rows, cols=cols, dtype=dtype, dtype_name=h['Shmswarm-Dtype'], fields=fields, bytes=nbytes,
             index=int(chunk[1]), chunks=int(chunk[2]), sequence=uint('Shmswarm-Sequence'),
             time=float(need('Shmswarm-Time')))
    return m


class Assembler:
    """Chunks in order (0, 1, ..., n-1) of one frame of one publisher; anything else drops it.
    add() returns (meta, array) for a whole frame, else None; a dropped frame goes to report()."""

    def __init__(self, report):
        self.report = report
        self.meta = None
        self.parts = []
        self.filled = 0

    def add(self, m, payload):
        cur = self.meta
        if m['index'] == 0:
            if cur is not None:
                self.report(WireProblem('incomplete', f"frame {cur['frame']} never got its last chunk"))
            self.meta, self.parts, self.filled = m, [], 0
        elif cur is None or (cur['id'], cur['frame'], cur['chunks']) != (m['id'], m['frame'], m['chunks']) \
                or m['index'] != len(self.parts):
            self.meta = None
            self.report(WireProblem('chunk-order', f"chunk {m['index']}/{m['chunks']} of frame {m['frame']} out of order"))
            return None
        meta = self.meta
        self.filled += len(payload)
        last = m['index'] == m['chunks'] - 1
        if self.filled > meta['bytes'] or (last and self.filled != meta['bytes']):
            self.meta = None
            self.report(WireProblem('size', f"the chunks of frame {meta['frame']} do not add up to {meta['bytes']} bytes"))
            return None
        self.parts.append(bytes(payload))
        if not last:
            return None
        self.meta = None
        data = b''.join(self.parts)
        return meta, np.frombuffer(data, dtype=meta['dtype']).reshape(meta['rows'], meta['cols'])


async def frames(nc, subject, max_bytes=DEFAULT_MAX_BYTES, latest=True, problems=None):
    """Whole frames as (meta, array): the latest one JetStream keeps first (if any), then live
    ones. A frame that completes while the previous one was not taken yet replaces it."""
    problems = {} if problems is None else problems
    ready = asyncio.Event()
    slot = []

    def refuse(p):
        problems[p.problem] = problems.get(p.problem, 0) + 1
        if problems[p.problem] == 1:
            print(f'nats_subscriber: refused a message: {p}', file=sys.stderr)

    def feed(assembler, headers, data):
        try:
            m = decode(headers or {}, len(data), max_bytes)
        except WireProblem as p:
            refuse(p)
            return
        if m['kind'] != 'frame':
            return
        whole = assembler.add(m, data)
        if whole:
            slot[:] = [whole]
            ready.set()

    live = Assembler(refuse)

    async def on_msg(msg):
        feed(live, msg.headers, msg.data)

    sub = await nc.subscribe(subject, cb=on_msg)
    try:
        if latest:
            try:
                js = nc.jsm()
                stored = Assembler(refuse)
                first = await js.get_last_msg(LAST_STREAM, last_subject(subject, 0), direct=True)
                n = int(re.match(r'^\d+/(\d+)$', (first.headers or {}).get('Shmswarm-Chunk', '0/1'))[1])
                msgs = [first] + [await js.get_last_msg(LAST_STREAM, last_subject(subject, i), direct=True) for i in range(1, min(n, 100000))]
                if not slot:
                    for m in msgs:
                        feed(stored, m.headers, m.data)
            except Exception as e:  # no JetStream, no stream, nothing stored: live frames only
                print(f'nats_subscriber: no latest frame from JetStream ({type(e).__name__}): waiting for live frames', file=sys.stderr)
        while True:
            await ready.wait()
            ready.clear()
            meta, array = slot.pop()
            yield meta, array
    finally:
        await sub.unsubscribe()


async def main():
    ap = argparse.ArgumentParser(description='print frames published by `shmswarm publish` as JSON lines')
    ap.add_argument('subject', help='e.g. shmswarm.swarm')
    ap.add_argument('--server', default=os.environ.get('NATS_URL', 'nats://127.0.0.1:4222'))
    ap.add_argument('--frames', type=int, default=0, help='stop after this many frames (0: until Ctrl-C)')
    ap.add_argument('--token-file')
    ap.add_argument('--creds')
    a = ap.parse_args()
    options = {}
    if a.token_file:
        with open(a.token_file) as f:
            options['token'] = f.read().strip()
    elif os.environ.get('NATS_TOKEN'):
        options['token'] = os.environ['NATS_TOKEN']
    if a.creds:
        options['user_credentials'] = a.creds
    nc = await nats.connect(a.server, **options)
    count = 0
    try:
        async for meta, array in frames(nc, a.subject):
            line = {'frame': meta['frame'], 'sequence': meta['sequence'], 'source': f"{meta['host']}:{meta['name']}",
                    'shape': list(array.shape), 'dtype': meta['dtype_name'], 'fields': meta['fields'],
                    'mean': [float(x) for x in array.mean(axis=0)]}
            print(json.dumps(line), flush=True)
            count += 1
            if a.frames and count >= a.frames:
                break
    finally:
        await nc.drain()


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
