# shmswarm_reader.jl: read shmswarm segments (and plain WA-1 objects) from Julia.
#
#   include("shmswarm_reader.jl")
#   seg = ShmswarmReader.open_segment("/swarm")     # WrappedArray if InterProcessCommunication.jl is installed, else Mmap
#   seg.fields                                     # ["x", "y", "vx", "vy"]
#   A, seq = ShmswarmReader.read_frame(seg)        # cols × rows Matrix: A[field, agent], one whole frame
#
# NOT RUN BY CI: Julia cannot be installed on the project's machines. This file is kept small
# and follows docs/FORMAT.md (and struct shmswarm__block in include/shmswarm.h) field by field;
# the Python reader (examples/python/shmswarm.py), which CI does run, implements the same steps.
#
# Consistency: the seqlock. Load the block's sequence counter with acquire ordering (odd: a frame
# is being written), copy, fence, load it again; retry when it moved. The segment's own mutex is
# robust: a reader that locks it must repair a dead writer's frame on EOWNERDEAD, which a read-only
# mapping cannot do, so this reader never locks it. (The seed's separate, non-robust mutex object
# is another matter: see read_raw_locked! below.)
#
# Format 2 ("slots", k = 2-16 frame buffers): the WA-1 header has ndims 3, dims (cols, rows, k), so
# WrappedArray alone sees a cols × rows × k array; frame n lives in slot n % k (A[:, :, n % k + 1]).
# read_frame copies slot (s1 ÷ 2) % k even when s1 is odd (the frame being written goes to another
# slot) and accepts the copy iff the sequence after it is at most 2(n + k) - 2.
module ShmswarmReader

using Mmap

const HAVE_IPC = Base.find_package("InterProcessCommunication") !== nothing
HAVE_IPC && @eval using InterProcessCommunication

# ---- docs/FORMAT.md: WA-1 header (InterProcessCommunication.jl) ----
const WA1_MAGIC = 0x57412D31                 # u32 @0
# etype u16 @4, ndims u16 @6, data offset i64 @8, dims i64 × ndims @16 (first varies fastest)
const ETYPES = Dict(1 => Int8, 2 => UInt8, 3 => Int16, 4 => UInt16, 5 => Int32,
                    6 => UInt32, 7 => Int64, 8 => UInt64, 9 => Float32, 10 => Float64)
# ---- the shmswarm block, at roundup(64 + data bytes, 64) ----
const BLOCK_MAGIC = 0x314D5257534D4853       # u64 @0 "SHMSWRM1"
const VERSION = 0x00000001                   # u32 @8: one frame buffer, WA-1 ndims 2
const VERSION_SLOTS = 0x00000002             # 2-16 frame buffers, WA-1 ndims 3 (cols, rows, slots)
const OFF_SLOTS, SLOTS_MAX = 100, 16         # u32 @100 in version 2
const OFF_LAYOUT, OFF_ROWS, OFF_COLS, OFF_DTYPE = 12, 16, 24, 28
const OFF_FIELDS_LEN, OFF_CHECKSUM, OFF_TOTAL, OFF_INIT = 56, 60, 80, 96
const READY = 0x59444552                     # init_state "REDY"
const OFF_SEQ = 128                          # u64 sequence: even = stable, odd = being written
const OFF_FRAMES = 192                       # u64 frames published
const BLOCK_FIXED = 512                      # field names follow the fixed block

ld(::Type{T}, base::Ptr{UInt8}, off::Integer) where {T} = unsafe_load(Ptr{T}(base + off))
roundup(x, a) = div(x + a - 1, a) * a
fnv1a(h::UInt32, p::Ptr{UInt8}, n::Integer) =
    foldl((h, i) -> (h ⊻ unsafe_load(p, i)) * 0x01000193, 1:n; init = h)

struct Segment{T}
    name::String
    kind::Symbol                   # :shmswarm or :wa1
    A::Matrix{T}                   # live cols × rows view of the shared matrix (slot 0)
    slots::Vector{Matrix{T}}       # every slot (one for format 1 and plain WA-1)
    fields::Vector{String}
    seq::Ptr{UInt64}               # C_NULL for plain WA-1: no sequence counter
    keep::Any                      # what keeps the mapping alive (the WrappedArray or the Mmap vector)
end

"""Map `name` read-only and validate its header; returns a Segment."""
function open_segment(name::AbstractString)
    if HAVE_IPC
        W = WrappedArray(name; readonly = true)     # checks the WA-1 header itself
        base, size, keep = Ptr{UInt8}(pointer(W.mem)), sizeof(W.mem), W
    else
        io = open("/dev/shm" * name, "r")           # Linux: POSIX shm objects live here
        bytes = Mmap.mmap(io, Vector{UInt8}, (filesize(io),), 0; grow = false, shared = true)
        close(io)
        base, size, keep = Ptr{UInt8}(pointer(bytes)), length(bytes), bytes
    end
    GC.@preserve keep begin
        size ≥ 64 || error("$name: object of $size bytes is smaller than a header")
        ld(UInt32, base, 0) == WA1_MAGIC || error("$name: not a WA-1 object (bad magic)")
        etype, ndims, off = ld(UInt16, base, 4), ld(UInt16, base, 6), ld(Int64, base, 8)
        haskey(ETYPES, etype) || error("$name: element type $etype is not supported")
        T = ETYPES[etype]
        ndims ≥ 1 && off == roundup(16 + 8 * ndims, 64) || error("$name: bad ndims or data offset")
        dims = [ld(Int64, base, 16 + 8 * i) for i in 0:ndims-1]
        all(≥(1), dims) || error("$name: a dimension is < 1")
        cols, rows = dims[1], prod(dims[2:end]; init = 1)   # rows of every slot together
        data_end = off + sizeof(T) * cols * rows
        size ≥ data_end || error("$name: object of $size bytes cannot hold its matrix")
        A = unsafe_wrap(Array, Ptr{T}(base + off), (cols, rows))
        # Format 1 has ndims 2, format 2 ndims 3: the block is at roundup(64 + k * D, 64) either way.
        boff = roundup(data_end, 64)
        if !(ndims in (2, 3)) || size < boff + BLOCK_FIXED || ld(UInt64, base, boff) != BLOCK_MAGIC
            # Plain WA-1 (e.g. from WrappedArray(id, T, dims)): no fields, no synchronisation.
            return Segment{T}(name, :wa1, A, [A], ["c$i" for i in 0:cols-1], Ptr{UInt64}(C_NULL), keep)
        end
        blk = base + boff
        version = ld(UInt32, blk, 8)
        version == (ndims == 2 ? VERSION : VERSION_SLOTS) || error("$name: another shmswarm format version")
        ld(UInt32, blk, OFF_LAYOUT) >> 16 == 64 || error("$name: made for another cache line size")
        ld(UInt32, blk, OFF_INIT) == READY || error("$name: not initialised (being created?)")
        k = 1
        if version == VERSION_SLOTS
            k = Int(ld(UInt32, blk, OFF_SLOTS))
            2 ≤ k ≤ SLOTS_MAX && k == dims[3] || error("$name: bad slots count")
        end
        frows = div(rows, k)                                 # rows of one frame (exact)
        (ld(UInt64, blk, OFF_ROWS), ld(UInt32, blk, OFF_COLS), ld(UInt16, blk, OFF_DTYPE)) ==
            (frows, cols, etype) || error("$name: shmswarm block disagrees with the WA-1 header")
        nf = ld(UInt32, blk, OFF_FIELDS_LEN)
        fields_at = blk + BLOCK_FIXED
        total = ld(UInt64, blk, OFF_TOTAL)
        total == boff + BLOCK_FIXED + roundup(nf, 64) && size ≥ total || error("$name: bad total size")
        # FNV-1a 32 over WA-1 bytes 0-31, block bytes 0-63 with the checksum (60-63) as zeros,
        # block bytes 64-95, and the field names.
        h = fnv1a(0x811C9DC5, base, 32)
        h = fnv1a(h, blk, 60)
        h = foldl((h, _) -> h * 0x01000193, 1:4; init = h)   # four zero bytes
        h = fnv1a(h, blk + 64, 32)
        version == VERSION_SLOTS && (h = fnv1a(h, blk + OFF_SLOTS, 4))   # init_state (96-99) is not covered
        h = fnv1a(h, fields_at, nf)
        h == ld(UInt32, blk, OFF_CHECKSUM) || error("$name: header checksum mismatch")
        names = nf == 0 ? ["c$i" for i in 0:cols-1] : split(unsafe_string(fields_at, nf), ',')
        length(names) == cols || error("$name: field names do not match $cols columns")
        D = sizeof(T) * cols * frows
        S = [unsafe_wrap(Array, Ptr{T}(base + off + i * D), (cols, frows)) for i in 0:k-1]
        return Segment{T}(name, :shmswarm, S[1], S, String.(names), Ptr{UInt64}(blk + OFF_SEQ), keep)
    end
end

"""
    read_frame(seg; timeout=1.0) -> (cols × rows Matrix, sequence)

One whole frame, copied. Plain WA-1 objects have no counter: their copy is unsynchronised and
the sequence is `nothing`.
"""
function read_frame(seg::Segment{T}; timeout = 1.0) where {T}
    dst = similar(seg.A)
    GC.@preserve seg begin
        if seg.seq == C_NULL
            copyto!(dst, seg.A)
            return dst, nothing
        end
        deadline = time() + timeout
        tries = 0
        k = length(seg.slots)
        while true
            s1 = unsafe_load(seg.seq, :acquire)     # Julia ≥ 1.10 (atomic pointer loads)
            if k > 1
                n = s1 >> 1                          # latest whole frame, also while s1 is odd
                copyto!(dst, seg.slots[n % k + 1])
                Threads.atomic_fence()
                unsafe_load(seg.seq, :monotonic) <= 2 * (n + k) - 2 && return dst, 2 * n
            elseif iseven(s1)
                copyto!(dst, seg.A)
                Threads.atomic_fence()               # the copy completes before the re-check
                unsafe_load(seg.seq, :monotonic) == s1 && return dst, s1
            end
            tries += 1
            time() < deadline || error("$(seg.name): no consistent frame after $tries tries")
            tries > 3 && sleep(0.001)                # Julia's sleep resolution is about 1 ms
        end
    end
end

"""Frames published so far (nothing for plain WA-1)."""
frames(seg::Segment) = seg.seq == C_NULL ? nothing :
    GC.@preserve seg unsafe_load(Ptr{UInt64}(Ptr{UInt8}(seg.seq) - OFF_SEQ + OFF_FRAMES), :monotonic)

"""
    read_raw_locked!(dst, data_name, mutex_name; timeout=1.0)

The seed's hand-made layout: a bare cols × rows matrix in `data_name` and a plain process-shared
pthread mutex at byte 0 of `mutex_name` that the WRITER initialised. Locks that mutex around the
copy with a timeout, and never initialises it (InterProcessCommunication's `Mutex(...)`
constructor calls pthread_mutex_init on a mutex the writer may be holding: do not use it here).
"""
function read_raw_locked!(dst::Matrix{T}, data_name, mutex_name; timeout = 1.0) where {T}
    dio = open("/dev/shm" * data_name, "r")
    data = Mmap.mmap(dio, Matrix{T}, size(dst), 0; grow = false, shared = true)
    close(dio)
    mio = open("/dev/shm" * mutex_name, "r+")             # locking writes to the mutex
    mtx = Mmap.mmap(mio, Vector{UInt8}, (filesize(mio),), 0; grow = false, shared = true)
    close(mio)
    GC.@preserve data mtx begin
        t = time() + timeout                              # CLOCK_REALTIME deadline for timedlock
        ts = Ref((Int64(floor(t)), Int64(floor((t - floor(t)) * 1e9))))  # struct timespec on 64-bit Linux
        rc = ccall(:pthread_mutex_timedlock, Cint, (Ptr{UInt8}, Ptr{Cvoid}), pointer(mtx), ts)
        rc == 0 || error("$mutex_name: pthread_mutex_timedlock failed with errno $rc (110 = ETIMEDOUT: writer stuck or dead)")
        try
            copyto!(dst, data)
        finally
            ccall(:pthread_mutex_unlock, Cint, (Ptr{UInt8},), pointer(mtx))
        end
    end
    return dst
end

end # module
