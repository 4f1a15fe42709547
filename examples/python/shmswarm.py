"""shmswarm.py: read shmswarm segments (and plain WA-1 objects) from Python, numpy + stdlib only.

    import shmswarm
    seg = shmswarm.open('/swarm')
    seg.fields                  # ['x', 'y', 'vx', 'vy']
    seg.rows, seg.cols, seg.dtype
    frame = seg.read()          # numpy array (rows, cols): one whole, consistent frame (a copy)
    seg.close()

The byte layout is docs/FORMAT.md; every offset below names the field it reads. The header is
validated like the C validator (shmswarm_validate in include/shmswarm.h) before anything is
trusted: magic, byte order, version, platform layout, init state, sizes against the object's real
size, and the FNV-1a 32 checksum.

Consistency: Python cannot take the segment's robust pthread mutex portably (no ctypes type for
pthread_mutex_t, and a reader that dies holding it would need EOWNERDEAD repair). read() uses the
seqlock instead: load the sequence counter, copy, load it again, retry if it was odd or changed.
Segments with several frame buffers (format 2, "slots" k >= 2) keep frame n in slot n % k: read()
copies the latest whole frame n = sequence // 2 even while the next one is being written, and the
copy is whole unless the sequence afterwards has reached 2(n + k) - 1 (the writer started
overwriting that slot).
After a few quick retries it sleeps briefly between attempts, and it raises ShmswarmError
('ENOFRAME') when no consistent copy was possible before the timeout. The plain loads rely on
x86-64's ordering of loads (as the C reader's acquire loads do everywhere); on weakly ordered
CPUs (ARM) this reader is best effort.

Linux only: the object is opened through /dev/shm (the stdlib's multiprocessing.shared_memory
would register it with the resource tracker, which may unlink a segment this process never
created). Run as a script to print a segment: python3 shmswarm.py /swarm [--frames N]
"""

import errno
import mmap
import os
import platform
import stat
import struct
import sys
import time

import numpy as np

__all__ = ['open', 'Segment', 'ShmswarmError', 'validate']

SHM_DIR = '/dev/shm'

WA1_MAGIC = 0x57412D31             # "WA-1", u32 at byte 0
WA1_MAGIC_SWAPPED = 0x312D4157
BLOCK_MAGIC = 0x314D5257534D4853   # bytes "SHMSWRM1"
VERSION = 1                        # one frame buffer, WA-1 ndims 2
VERSION_SLOTS = 2                  # 2-16 frame buffers ("slots"), WA-1 ndims 3 (cols, rows, slots)
SLOTS_MAX = 16
CACHELINE = 64
MUTEX_RESERVE = 128
BLOCK_FIXED = 512
FIELDS_MAX = 65536
MAX_DATA = 1 << 40
WA1_MAX_NDIMS = 32
READY = 0x59444552                 # init_state "REDY"

# Offsets inside the shmswarm block (docs/FORMAT.md, struct shmswarm__block).
B_MAGIC, B_VERSION, B_LAYOUT, B_ROWS, B_COLS, B_DTYPE, B_ELSIZE = 0, 8, 12, 16, 24, 28, 30
B_DATA_OFFSET, B_DATA_BYTES, B_BLOCK_OFFSET, B_FIELDS_LEN, B_CHECKSUM = 32, 40, 48, 56, 60
B_CREATED_NS, B_TOTAL_SIZE, B_CREATOR_PID, B_MODE, B_INIT_STATE, B_SLOTS = 64, 80, 88, 92, 96, 100
B_SEQ, B_FRAMES, B_LAST_WRITE_NS, B_WRITER_PID, B_FLAGS, B_STATS_SEQ = 128, 192, 200, 216, 220, 224

# WA-1 element type codes (InterProcessCommunication.jl) -> little-endian numpy dtypes.
DTYPES = {1: '<i1', 2: '<u1', 3: '<i2', 4: '<u2', 5: '<i4', 6: '<u4', 7: '<i8', 8: '<u8', 9: '<f4', 10: '<f8'}
DTYPE_NAMES = {1: 'i8', 2: 'u8', 3: 'i16', 4: 'u16', 5: 'i32', 6: 'u32', 7: 'i64', 8: 'u64', 9: 'f32', 10: 'f64'}

# sizeof(pthread_mutex_t) with glibc, for the block's layout word; unknown machines are not checked.
MUTEX_SIZES = {'x86_64': 40, 'amd64': 40, 'aarch64': 48, 'arm64': 48, 'i686': 24, 'i386': 24, 'armv7l': 24}

TORN = 0x1


class ShmswarmError(Exception):
    """A format or system failure. `code` is EBADMAGIC, ECHECKSUM, ENOFRAME, ENOENT, ..."""

    def __init__(self, code, message, segment=None):
        super().__init__(f'{segment}: {message}' if segment else message)
        self.code = code
        self.segment = segment


def _roundup(x, a):
    return (x + a - 1) // a * a


def _fnv1a32(h, data):
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


class Layout:
    """What a validated header says (the fields of shmswarm_layout)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return 'Layout(' + ', '.join(f'{k}={v!r}' for k, v in self.__dict__.items()) + ')'


def validate(read, size):
    """Validate a header. `read(offset, n)` returns bytes of the object, `size` is its real size.

    Returns a Layout; raises ShmswarmError with the same codes as shmswarm_validate().
    """
    def fail(code, msg):
        raise ShmswarmError(code, msg)

    if size < 64:
        if size == 0:
            fail('EUNINIT', 'empty object (size 0)')
        fail('ETRUNCATED', f'object of {size} bytes is smaller than a header')
    head = read(0, 64)
    # WA-1 header: u32 magic @0, u16 etype @4, u16 ndims @6, i64 data offset @8, ndims x i64 dims @16
    magic, etype, ndims, offset = struct.unpack_from('<IHHq', head, 0)
    if magic != WA1_MAGIC:
        if magic == WA1_MAGIC_SWAPPED:
            fail('EBYTEORDER', 'written with the opposite byte order')
        if magic == 0:  # writers store the magic last: zero means "not yet"
            fail('EUNINIT', 'no magic yet (being created, or abandoned)')
        fail('EBADMAGIC', f'magic 0x{magic:08x} is not WA-1 (0x{WA1_MAGIC:08x})')
    if etype in (11, 12):
        fail('ECORRUPT', f'complex element type {etype} is not supported')
    if etype not in DTYPES:
        fail('ECORRUPT', f'element type code {etype} is not 1-10')
    elsize = np.dtype(DTYPES[etype]).itemsize
    if not 1 <= ndims <= WA1_MAX_NDIMS:
        fail('ECORRUPT', f'ndims {ndims} is not 1-{WA1_MAX_NDIMS}')
    want_off = _roundup(16 + 8 * ndims, 64)
    if offset != want_off:
        fail('ECORRUPT', f'data offset {offset} is not {want_off}')
    if size < want_off:
        fail('ETRUNCATED', f'object of {size} bytes is smaller than its header')
    dims = struct.unpack_from(f'<{ndims}q', read(16, 8 * ndims), 0)
    # Julia order: dims[0] varies fastest = columns; the rest flatten into rows.
    cols, rows = 0, 1
    dim2 = dims[2] if ndims >= 3 else 0  # format 2: the slots
    for i, d in enumerate(dims):
        if d < 1:
            fail('ECORRUPT', f'dimension {i + 1} is {d}')
        if i == 0:
            cols = d
        else:
            if d > MAX_DATA // rows:
                fail('ECORRUPT', f'shape is larger than {MAX_DATA} bytes')
            rows *= d
    if cols > 0xFFFFFFFF or cols > MAX_DATA // elsize // rows:
        fail('ECORRUPT', f'shape is larger than {MAX_DATA} bytes')
    data_bytes = rows * cols * elsize
    data_end = want_off + data_bytes
    if size < data_end:
        fail('ETRUNCATED', f'object of {size} bytes cannot hold {data_end} bytes of data')
    lay = Layout(kind='wa1', dtype=etype, elsize=elsize, rows=rows, cols=cols, data_offset=want_off,
                 data_bytes=data_bytes, block_offset=0, total_size=data_end, fields='', created_ns=None,
                 creator_pid=None, mode=None, version=0, slots=1)
    # Format 1 has ndims 2, format 2 ndims 3 (cols, rows, slots): B = roundup(64 + slots * D, 64) either way.
    boff = _roundup(data_end, CACHELINE)
    if ndims not in (2, 3) or size < boff + 8 or struct.unpack_from('<Q', read(boff, 8), 0)[0] != BLOCK_MAGIC:
        return lay  # a plain WA-1 object: Julia allows trailing bytes, so do we
    if size < boff + BLOCK_FIXED:
        fail('ETRUNCATED', f'object of {size} bytes ends inside the shmswarm block')
    # One snapshot of the block, so a concurrent writer cannot change a field between checks.
    blk = read(boff, BLOCK_FIXED)
    version, layout, brows, bcols, bdtype, belsize = struct.unpack_from('<IIQIHH', blk, B_VERSION)
    bdoff, bdbytes, bboff, fields_len, checksum = struct.unpack_from('<QQQII', blk, B_DATA_OFFSET)
    created, total, cpid, mode, init, bslots = struct.unpack_from('<qxxxxxxxxQiIII', blk, B_CREATED_NS)
    if version not in (VERSION, VERSION_SLOTS):
        fail('EVERSION', f'format version {version}, this reader reads {VERSION} and {VERSION_SLOTS}')
    if ndims != (2 if version == VERSION else 3):
        fail('EVERSION', f'format version {version} needs a WA-1 header of {2 if version == VERSION else 3} dims, not {ndims}')
    mutex_size = MUTEX_SIZES.get(platform.machine().lower())
    if layout >> 16 != CACHELINE or not 1 <= (layout & 0xFFFF) <= MUTEX_RESERVE or \
            (mutex_size is not None and layout & 0xFFFF != mutex_size):
        fail('ELAYOUT', f'made for mutex size {layout & 0xFFFF} and cache line {layout >> 16}; '
                        f'this platform has {mutex_size} and {CACHELINE}')
    if init != READY:
        fail('EUNINIT', 'shmswarm block is not initialised')
    slots = 1
    if version == VERSION_SLOTS:
        if not 2 <= bslots <= SLOTS_MAX:
            fail('ECORRUPT', f'{bslots} slots is not 2-{SLOTS_MAX}')
        if dim2 != bslots:
            fail('ECORRUPT', f"{bslots} slots, but the WA-1 header's third dimension is {dim2}")
        slots = bslots
    # rows counted every slot; one slot is rows // slots (exact), and slots * D was checked above.
    frows, fbytes = rows // slots, data_bytes // slots
    if (brows, bcols, bdtype, belsize, bdoff, bdbytes, bboff) != (frows, cols, etype, elsize, want_off, fbytes, boff):
        fail('ECORRUPT', 'shmswarm block disagrees with the WA-1 header')
    if fields_len > FIELDS_MAX:
        fail('ECORRUPT', f'field names of {fields_len} bytes (at most {FIELDS_MAX})')
    fields_off = boff + BLOCK_FIXED
    want_total = fields_off + _roundup(fields_len, CACHELINE)
    if total != want_total:
        fail('ECORRUPT', f'total size {total} is not {want_total}')
    if size < total:
        fail('ETRUNCATED', f'object of {size} bytes is smaller than its {total}-byte layout')
    fields = read(fields_off, fields_len) if fields_len else b''
    # FNV-1a 32 over: WA-1 bytes 0-31, block line 0 with the checksum zeroed, block bytes 64-95, fields.
    h = _fnv1a32(2166136261, read(0, 32))
    h = _fnv1a32(h, blk[:B_CHECKSUM] + bytes(4))
    h = _fnv1a32(h, blk[64:96])
    if version == VERSION_SLOTS:
        h = _fnv1a32(h, blk[B_SLOTS:B_SLOTS + 4])  # init_state (96-99) is not covered
    h = _fnv1a32(h, fields)
    if h != checksum:
        fail('ECHECKSUM', 'header checksum mismatch')
    names = fields.split(b',') if fields_len else []
    if fields_len and (len(names) != cols or any(not n or any(c < 0x20 or c >= 0x7F for c in n) for n in names)):
        fail('ECORRUPT', f'field names do not match {cols} columns')
    lay.kind = 'shmswarm'
    lay.version = version
    lay.slots = slots
    lay.rows = frows
    lay.data_bytes = fbytes
    lay.block_offset = boff
    lay.total_size = total
    lay.fields = fields.decode('ascii')
    lay.created_ns = created
    lay.creator_pid = cpid
    lay.mode = mode
    return lay


class Segment:
    """A mapped segment, read-only. Use open(); close() when done (or `with`)."""

    def __init__(self, name, timeout=1.0):
        if not isinstance(name, str) or not name.startswith('/') or '/' in name[1:] or name in ('/', '/.', '/..') \
                or len(name[1:].encode()) > 255 or '\0' in name:
            raise ValueError(f'segment name {name!r} must be "/" followed by 1-255 bytes without "/"')
        self.name = name
        self.timeout = timeout
        self._mm = None
        # O_NONBLOCK: a FIFO at the name must not block the open (it is refused below).
        try:
            fd = os.open(SHM_DIR + name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as e:
            code = errno.errorcode.get(e.errno, 'EIO')
            why = 'the name is a symbolic link; refused' if e.errno == errno.ELOOP else e.strerror
            raise ShmswarmError(code, why, name) from None
        self._fd = fd
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ShmswarmError('EINVAL', 'not a regular shared-memory object', name)
            size = st.st_size
            try:
                # pread: a shrinking object returns short reads here instead of a fatal SIGBUS.
                self.layout = validate(lambda off, n: os.pread(fd, n, off), size)
            except ShmswarmError as e:
                raise ShmswarmError(e.code, str(e), name) from None
            self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
            self._size = size
        except BaseException:
            os.close(fd)
            raise
        lay = self.layout
        self.kind = lay.kind
        self.rows = lay.rows
        self.cols = lay.cols
        self.dtype = np.dtype(DTYPES[lay.dtype])
        self.dtype_name = DTYPE_NAMES[lay.dtype]
        self.fields = lay.fields.split(',') if lay.fields else [f'c{i}' for i in range(self.cols)]
        self.synced = lay.kind == 'shmswarm'
        self.slots = lay.slots
        self.last_torn = False
        # Slot i (frame n lives in slot n % slots) at data_offset + i * data_bytes.
        self._slots = [np.frombuffer(self._mm, dtype=self.dtype, count=self.rows * self.cols,
                                     offset=lay.data_offset + i * lay.data_bytes).reshape(self.rows, self.cols)
                       for i in range(self.slots)]
        self._data = self._slots[0]
        if self.synced:
            boff = lay.block_offset
            # Aligned 8-byte loads of the live counters (no Python object in between).
            self._seq = np.frombuffer(self._mm, dtype='<u8', count=1, offset=boff + B_SEQ)
            self._frames = np.frombuffer(self._mm, dtype='<u8', count=1, offset=boff + B_FRAMES)
            self._flags = np.frombuffer(self._mm, dtype='<u4', count=1, offset=boff + B_FLAGS)
            self._stats_seq = np.frombuffer(self._mm, dtype='<u8', count=1, offset=boff + B_STATS_SEQ)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f'<shmswarm.Segment {self.name} {self.kind} {self.rows}x{self.cols} {self.dtype_name} fields={self.fields}>'

    @property
    def sequence(self):
        """The sequence counter (even: stable, odd: a frame is being written); None for WA-1."""
        self._check_size()
        return int(self._seq[0]) if self.synced else None

    @property
    def frames(self):
        """Frames published so far; None for WA-1."""
        self._check_size()
        return int(self._frames[0]) if self.synced else None

    def read(self, timeout=None, with_sequence=False):
        """One whole frame as a new (rows, cols) array.

        Plain WA-1 objects have no sequence counter: their copy is unsynchronised. With
        with_sequence=True returns (frame, sequence); the sequence is None for WA-1. Afterwards
        `last_torn` says whether that frame was left half-written by a writer that died (the
        TORN flag, docs/FORMAT.md section 10): the data is then a mix of two frames.
        """
        self.last_torn = False
        self._check_size()
        if not self.synced:
            frame = self._data.copy()
            return (frame, None) if with_sequence else frame
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        attempts = 0
        k = self.slots
        while True:
            if attempts:
                self._check_size()
            s1 = int(self._seq[0])
            if k > 1:
                # Frame n = s1 // 2 is whole even when s1 is odd (frame n + 1 goes to another slot).
                # Its flags are the ones read while stats_seq is still below frame n + 1's (2n + 1):
                # the writer of n + 1 stores stats_seq before it clears TORN (section 9).
                n = s1 >> 1
                torn = bool(int(self._flags[0]) & TORN)
                if int(self._stats_seq[0]) < 2 * n + 1 and int(self._seq[0]) >> 1 == n:
                    frame = self._slots[n % k].copy()
                    if int(self._seq[0]) <= 2 * (n + k) - 2:
                        self.last_torn = torn
                        return (frame, 2 * n) if with_sequence else frame
            elif not s1 & 1:
                torn = bool(int(self._flags[0]) & TORN)
                frame = self._data.copy()
                if int(self._seq[0]) == s1:
                    self.last_torn = torn
                    return (frame, s1) if with_sequence else frame
            attempts += 1
            if time.monotonic() >= deadline:
                raise ShmswarmError('ENOFRAME', f'no consistent frame within {attempts} attempts: the writer kept '
                                    'overwriting it (or died mid-frame; a locking reader repairs that)', self.name)
            # A few immediate retries catch a short write; then give the writer the CPU.
            if attempts > 3:
                time.sleep(0.0002)

    def wait(self, seen, timeout=None):
        """Poll until the sequence is even and differs from `seen`; returns it (None on timeout)."""
        if not self.synced:
            raise ShmswarmError('ENOTSYNC', 'plain WA-1 object has no sequence counter', self.name)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            self._check_size()
            s = int(self._seq[0])
            if s != seen and not s & 1:
                return s
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.0005)

    def _check_size(self):
        # Python cannot survive the SIGBUS of touching a page past the end of a shrunk object:
        # look at the size first. Only a shrink during the copy itself can still end the process.
        if self._mm is None:
            raise ValueError(f'segment {self.name} is closed')
        if os.fstat(self._fd).st_size < self._size:
            raise ShmswarmError('EBUS', 'the object shrank under this reader (re-created or truncated); open it again',
                                self.name)

    def close(self):
        """Unmap. Idempotent; never unlinks."""
        if self._mm is None:
            return
        os.close(self._fd)
        # numpy views export the mmap's buffer: drop them before closing it.
        self._data = self._slots = self._seq = self._frames = self._flags = self._stats_seq = None
        self._mm.close()
        self._mm = None


def open(name, timeout=1.0):  # noqa: A001 - the module's entry point, as in shmswarm.open('/swarm')
    """Open and validate a segment for reading. `timeout`: seconds read() may retry."""
    return Segment(name, timeout)


def _main(argv):
    import argparse
    p = argparse.ArgumentParser(prog='shmswarm.py', description='Print frames of a shmswarm segment.')
    p.add_argument('name')
    p.add_argument('--frames', type=int, default=1, help='frames to print (waits for new ones)')
    args = p.parse_args(argv)
    try:
        with open(args.name) as seg:
            slots = f' slots {seg.slots}' if seg.slots > 1 else ''
            print(f'{seg.name} {seg.kind} {seg.rows}x{seg.cols} {seg.dtype_name} fields {",".join(seg.fields)}{slots}')
            seen = None
            for _ in range(args.frames):
                if seg.synced and seen is not None and seg.wait(seen, timeout=5.0) is None:
                    raise ShmswarmError('ETIMEDOUT', 'no new frame within 5 s', seg.name)
                frame, seen = seg.read(with_sequence=True)
                if seg.last_torn:
                    print(f'shmswarm.py: the frame at sequence {seen} of {seg.name} is torn: its writer died while writing it',
                          file=sys.stderr)
                print(f'# sequence {seen}')
                np.savetxt(sys.stdout, frame, fmt='%.9g', delimiter=',', header=','.join(seg.fields), comments='')
                sys.stdout.flush()  # each frame as it comes, also into a pipe
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:  # Ctrl-C while waiting for a frame: the shell's status, no traceback
        return 130
    except (ShmswarmError, OSError, ValueError) as e:
        print(f'shmswarm.py: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(_main(sys.argv[1:]))
