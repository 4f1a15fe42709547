"""The Python alternative for `npm run bench`: multiprocessing.shared_memory + numpy, a plain copy.

  shm_numpy.py writer NAME BYTES SECONDS   create NAME, publish frames back to back, unlink at the end
  shm_numpy.py reader NAME BYTES           copy each new frame once until the writer stops

What a Python user would write without a library: the first 64 bytes hold a frame counter the
writer bumps after each copy, the frame follows. No lock, no sequence check: frames may be torn.
Frame n holds n % 4 + 1 everywhere, so the reader counts the torn copies apart, as the Node roles do.
Prints "ready" (reader) and then one JSON line.
"""
import json
import sys
import time

import numpy as np
from multiprocessing import resource_tracker, shared_memory

HEADER = 64


def writer(name, nbytes, seconds):
    shm = shared_memory.SharedMemory(name=name, create=True, size=HEADER + nbytes)
    try:
        counter = np.ndarray((1,), dtype=np.uint64, buffer=shm.buf[:8])
        frame = np.ndarray((nbytes // 4,), dtype=np.float32, buffer=shm.buf[HEADER:HEADER + nbytes])
        srcs = [np.full(nbytes // 4, k + 1, dtype=np.float32) for k in range(4)]
        print("ready", flush=True)
        sys.stdin.readline()  # the reader is attached: go
        sent = 0
        start = time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            for _ in range(16):
                sent += 1
                np.copyto(frame, srcs[sent % 4])
                counter[0] = sent
        elapsed = time.perf_counter() - start
        del counter, frame
        print(json.dumps({"sent": sent, "seconds": elapsed}), flush=True)
        sys.stdin.readline()  # the reader has finished: unlink
    finally:
        shm.close()
        shm.unlink()


def reader(name, nbytes, idle=0.4):
    shm = shared_memory.SharedMemory(name=name)
    # Attaching registers the name with this process's tracker too (Python < 3.13): the writer owns it.
    resource_tracker.unregister(shm._name, "shared_memory")
    try:
        counter = np.ndarray((1,), dtype=np.uint64, buffer=shm.buf[:8])
        frame = np.ndarray((nbytes // 4,), dtype=np.float32, buffer=shm.buf[HEADER:HEADER + nbytes])
        dst = np.empty(nbytes // 4, dtype=np.float32)
        print("ready", flush=True)
        last = int(counter[0])
        count = torn = 0
        first = prev = 0.0
        while True:
            c = int(counter[0])
            t = time.perf_counter()
            if c == last:
                if first and t - prev > idle:
                    break
                continue
            np.copyto(dst, frame)
            last = c
            if dst[0] != dst[-1] or not (dst[::16] == dst[0]).all():
                torn += 1
                continue
            count += 1
            prev = time.perf_counter()
            if not first:
                first = prev
        del counter, frame
        secs = prev - first
        print(json.dumps({"frames": count, "torn": torn, "seconds": secs, "fps": (count - 1) / secs if secs > 0 else 0}), flush=True)
    finally:
        shm.close()


if __name__ == "__main__":
    role, name, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if role == "writer":
        writer(name, nbytes, float(sys.argv[4]))
    else:
        reader(name, nbytes)
