# shmswarm_reader.jl: read shmswarm segments (and plain WA-1 objects) from Julia ≥ 1.10, Linux.
#
#   include("shmswarm_reader.jl")
#   seg = ShmswarmReader.open_segment("/swarm")
#   seg.fields                                   # ["x", "y", "vx", "vy"]
#   A, seq, torn = ShmswarmReader.read_frame(seg)  # A[field, agent]: a cols × rows Matrix, one whole frame
#   close(seg)
#
# or `ShmswarmReader.open_segment("/swarm") do seg ... end`, which closes it.
#
# NOT RUN BY CI: Julia cannot be installed on the project's machines. What CI checks instead
# (test/bridge/julia-reader.test.js): this file parses (tree-sitter's Julia grammar); its
# constants are read from this file by a line-by-line JavaScript transliteration
# (julia_reader_transliteration.js, beside this file, same function names and order of checks),
# which runs against segments made by the CLI and the forged headers of the hostile tests; and
# the sequence of constants, error codes, helpers, operators and integer literals each function
# uses must be the same here and there. Keep one `const NAME = value` per line, and change both files together.
#
# It maps the object itself (open with O_NOFOLLOW, fstat, mmap PROT_READ) and follows
# docs/FORMAT.md §7's checks in their order before it touches anything the header points to.
# InterProcessCommunication.jl is not used: its WrappedArray(name) reads ndims dims and trusts
# sizeof(T) * prod(dims) before it checks them against the object's size (src/wrappedarrays.jl,
# `read(mem, WrappedArrayHeader)`), so a forged header could fault the process first.
#
# Consistency: the seqlock (§9). Load the block's sequence counter with acquire ordering (odd: a
# frame is being written), copy, fence, load it again; retry while it moved. The segment's own
# mutex is robust: a reader that locks it must repair a dead writer's frame on EOWNERDEAD, which a
# read-only mapping cannot do, so this reader never locks it. (The seed's separate, non-robust
# mutex object is another matter: see open_raw below.)
#
# Lifetime: seg.A and seg.slots are views into the mapping. The mapping lives until close(seg) —
# never freed by the garbage collector, so a view you keep stays valid even when `seg` is gone —
# and every view is invalid after close(seg): copy (read_frame) what you keep.
module ShmswarmReader

export open_segment, read_frame, read_frame!, frames, open_raw

# ---- docs/FORMAT.md §1: the WA-1 header (InterProcessCommunication.jl) ----
const WA1_MAGIC = 0x57412D31                # u32 @0; stored last by the creator
const WA1_MAGIC_SWAPPED = 0x312D4157        # written with the other byte order
const WA1_MAX_NDIMS = 32
const OFF_ETYPE = 4                         # u16
const OFF_NDIMS = 6                         # u16
const OFF_DATA_OFFSET = 8                   # i64 = roundup(16 + 8 * ndims, 64)
const OFF_DIMS = 16                         # ndims × i64, Julia order (first varies fastest)
const ETYPES = (Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64)
# ---- §3: the shmswarm block, at B = roundup(data offset + k × D, 64) ----
const BLOCK_MAGIC = 0x314D5257534D4853      # u64 @0: the bytes "SHMSWRM1"
const FORMAT_1 = 1                          # one frame buffer, WA-1 ndims 2
const FORMAT_2 = 2                          # k = 2-16 frame buffers ("slots"), WA-1 ndims 3 (cols, rows, k)
const SLOTS_MAX = 16
const CACHELINE = 64
const MUTEX_RESERVE = 128
const BLOCK_FIXED = 512                     # field names follow the fixed block
const FIELDS_MAX = 65536
const MAX_DATA = 1099511627776              # 2^40 bytes of data at most
const READY = 0x59444552                    # init_state "REDY"
const TORN = 0x00000001                     # flags bit 0: the writer died while writing the latest frame
const B_VERSION = 8                         # u32
const B_LAYOUT = 12                         # u32: sizeof(pthread_mutex_t) | 64 << 16
const B_ROWS = 16                           # u64: rows of one frame
const B_COLS = 24                           # u32
const B_DTYPE = 28                          # u16
const B_ELSIZE = 30                         # u16
const B_DATA_OFFSET = 32                    # u64
const B_DATA_BYTES = 40                     # u64: D, one slot
const B_BLOCK_OFFSET = 48                   # u64
const B_FIELDS_LEN = 56                     # u32
const B_CHECKSUM = 60                       # u32: FNV-1a 32 (§5)
const B_CREATED = 64                        # bytes 64-95 are checksummed
const B_TOTAL_SIZE = 80                     # u64
const B_INIT_STATE = 96                     # u32 atomic, not checksummed
const B_SLOTS = 100                         # u32, format 2; checksummed on its own
const B_SEQ = 128                           # u64 atomic: even = stable, odd = a frame is being written
const B_FRAMES = 192                        # u64 atomic: frames published
const B_FLAGS = 220                         # u32 atomic: TORN
const B_STATS_SEQ = 224                     # u64 atomic: the odd seq whose figures are being stored
const FNV_BASIS = 0x811C9DC5
const FNV_PRIME = 0x01000193
# sizeof(pthread_mutex_t) with glibc (the block's layout word, check 13); other machines are not checked.
const MUTEX_SIZES = Dict(:x86_64 => 40, :aarch64 => 48, :i686 => 24, :armv7l => 24)
# Linux mmap(2)
const PROT_READ = Cint(1)
const PROT_WRITE = Cint(2)
const MAP_SHARED = Cint(1)
const MAP_FAILED = reinterpret(Ptr{Cvoid}, -1)
const EOWNERDEAD = 130                      # Linux: a robust mutex's holder died

"A format or system failure; `code` is :ECORRUPT, :ETRUNCATED, :ENOFRAME, … as in the C library."
struct ShmswarmError <: Exception
    code::Symbol
    msg::String
end
Base.showerror(io::IO, e::ShmswarmError) = print(io, "ShmswarmError(", e.code, "): ", e.msg)

fail(code::Symbol, msg::AbstractString) = throw(ShmswarmError(code, msg))
roundup(x, a) = div(x + a - 1, a) * a
# Plain loads: unsafe_load is alignment-1 (pointerref(p, i, 1)); acquire loads need Julia ≥ 1.10.
ld(::Type{T}, base::Ptr{UInt8}, off::Integer) where {T} = unsafe_load(Ptr{T}(base + off))
ld_acquire(::Type{T}, base::Ptr{UInt8}, off::Integer) where {T} = unsafe_load(Ptr{T}(base + off), :acquire)

function fnv1a(h::UInt32, p::Ptr{UInt8}, n::Integer)
    for i in 0:n-1
        h = (h ⊻ ld(UInt8, p, i)) * FNV_PRIME
    end
    return h
end

"""
    validate(base, size) -> NamedTuple

docs/FORMAT.md §7, checks 1-20 in their order, over `size` bytes at `base` (the object's real size
from fstat). Reads nothing at or past `size`; throws ShmswarmError with the C validator's codes.
"""
function validate(base::Ptr{UInt8}, size::Int)
    size > 0 || fail(:EUNINIT, "empty object (size 0)")                                    # check 1
    size ≥ 64 || fail(:ETRUNCATED, "object of $size bytes is smaller than a header")       # check 2
    magic = ld_acquire(UInt32, base, 0)       # acquire: pairs with the creator's release store (§6 step 8)
    if magic != WA1_MAGIC                                                                  # check 3
        magic == WA1_MAGIC_SWAPPED && fail(:EBYTEORDER, "written with the opposite byte order")
        magic == 0 && fail(:EUNINIT, "no magic yet (being created, or abandoned)")
        fail(:EBADMAGIC, "magic 0x$(string(magic, base = 16)) is not WA-1")
    end
    etype = Int(ld(UInt16, base, OFF_ETYPE))
    ndims = Int(ld(UInt16, base, OFF_NDIMS))
    offset = ld(Int64, base, OFF_DATA_OFFSET)
    1 ≤ etype ≤ length(ETYPES) || fail(:ECORRUPT, "element type code $etype is not 1-10")  # check 4 (11, 12: complex)
    T = ETYPES[etype]
    elsize = sizeof(T)
    1 ≤ ndims ≤ WA1_MAX_NDIMS || fail(:ECORRUPT, "ndims $ndims is not 1-32")               # check 5
    want_off = roundup(OFF_DIMS + 8 * ndims, CACHELINE)
    offset == want_off || fail(:ECORRUPT, "data offset $offset is not $want_off")         # check 6
    size ≥ want_off || fail(:ETRUNCATED, "object of $size bytes is smaller than its header")  # check 7
    dims = zeros(Int, ndims)                  # check 8: by division, so nothing overflows
    cols, rows = 0, 1
    for i in 1:ndims
        d = ld(Int64, base, OFF_DIMS + 8 * (i - 1))
        d ≥ 1 || fail(:ECORRUPT, "dimension $i is $d")
        dims[i] = d
        if i == 1
            cols = d
        else
            d ≤ div(MAX_DATA, rows) || fail(:ECORRUPT, "shape is larger than 2^40 bytes")
            rows *= d
        end
    end
    cols ≤ typemax(UInt32) || fail(:ECORRUPT, "$cols columns (at most 2^32 - 1)")
    cols ≤ div(div(MAX_DATA, elsize), rows) || fail(:ECORRUPT, "shape is larger than 2^40 bytes")
    data_bytes = rows * cols * elsize
    data_end = want_off + data_bytes
    size ≥ data_end || fail(:ETRUNCATED, "object of $size bytes cannot hold $data_end bytes of data")  # check 9
    boff = roundup(data_end, CACHELINE)
    # check 10: no block magic where ndims 2 or 3 puts it: a plain WA-1 object (trailing bytes allowed)
    if !(ndims == 2 || ndims == 3) || size < boff + 8 || ld(UInt64, base, boff) != BLOCK_MAGIC
        return (kind = :wa1, T = T, dims = dims, rows = rows, cols = cols, data_offset = want_off,
                data_bytes = data_bytes, slots = 1, version = 0, block_offset = 0, fields = String[])
    end
    size ≥ boff + BLOCK_FIXED || fail(:ETRUNCATED, "object of $size bytes ends inside the shmswarm block")  # check 11
    blk = base + boff
    version = ld(UInt32, blk, B_VERSION)
    (version == FORMAT_1 || version == FORMAT_2) || fail(:EVERSION, "format version $version, this reader reads 1 and 2")  # check 12
    ndims == (version == FORMAT_1 ? 2 : 3) || fail(:EVERSION, "format version $version with a WA-1 header of $ndims dims")
    layout = ld(UInt32, blk, B_LAYOUT)                                                     # check 13
    lmutex = layout & 0xffff
    msize = get(MUTEX_SIZES, Sys.ARCH, nothing)
    layout >> 16 == CACHELINE && 1 ≤ lmutex ≤ MUTEX_RESERVE && (msize === nothing || lmutex == msize) ||
        fail(:ELAYOUT, "made for mutex size $lmutex and cache line $(layout >> 16); this platform has $msize and $CACHELINE")
    ld_acquire(UInt32, blk, B_INIT_STATE) == READY || fail(:EUNINIT, "shmswarm block is not initialised")  # check 14
    k = 1
    if version == FORMAT_2                                                                 # check 14a
        k = Int(ld(UInt32, blk, B_SLOTS))
        2 ≤ k ≤ SLOTS_MAX || fail(:ECORRUPT, "$k slots is not 2-16")
        k == dims[3] || fail(:ECORRUPT, "$k slots, but the WA-1 header's third dimension is $(dims[3])")
    end
    frows = div(rows, k)                      # exact: rows = dims[2] * k
    fbytes = div(data_bytes, k)
    (ld(UInt64, blk, B_ROWS) == frows && ld(UInt32, blk, B_COLS) == cols && ld(UInt16, blk, B_DTYPE) == etype &&   # check 15
     ld(UInt16, blk, B_ELSIZE) == elsize && ld(UInt64, blk, B_DATA_OFFSET) == want_off &&
     ld(UInt64, blk, B_DATA_BYTES) == fbytes && ld(UInt64, blk, B_BLOCK_OFFSET) == boff) ||
        fail(:ECORRUPT, "shmswarm block disagrees with the WA-1 header")
    nf = Int(ld(UInt32, blk, B_FIELDS_LEN))
    nf ≤ FIELDS_MAX || fail(:ECORRUPT, "field names of $nf bytes (at most 65536)")         # check 16
    fields_off = boff + BLOCK_FIXED
    total = ld(UInt64, blk, B_TOTAL_SIZE)
    total == fields_off + roundup(nf, CACHELINE) || fail(:ECORRUPT, "total size $total is not $(fields_off + roundup(nf, CACHELINE))")  # check 17
    size ≥ total || fail(:ETRUNCATED, "object of $size bytes is smaller than its $total-byte layout")  # check 18
    # check 19, §5: WA-1 bytes 0-31, block line 0 with the checksum (60-63) as zeros, block bytes
    # 64-95, format 2's slots (100-103; init_state at 96 is not covered), the field names.
    h = fnv1a(FNV_BASIS, base, 32)
    h = fnv1a(h, blk, B_CHECKSUM)
    for _ in 1:4
        h = h * FNV_PRIME                     # a zero byte: h ⊻ 0 == h
    end
    h = fnv1a(h, blk + B_CREATED, 32)
    version == FORMAT_2 && (h = fnv1a(h, blk + B_SLOTS, 4))
    h = fnv1a(h, base + fields_off, nf)
    h == ld(UInt32, blk, B_CHECKSUM) || fail(:ECHECKSUM, "header checksum mismatch")
    names = String[]                                                                       # check 20
    if nf > 0
        for i in 0:nf-1
            b = ld(UInt8, base, fields_off + i)
            0x20 ≤ b ≤ 0x7e || fail(:ECORRUPT, "field names are not printable ASCII")
        end
        names = String.(split(unsafe_string(base + fields_off, nf), ','))
        length(names) == cols && all(n -> ncodeunits(n) > 0, names) || fail(:ECORRUPT, "field names do not match $cols columns")
    end
    return (kind = :shmswarm, T = T, dims = dims, rows = frows, cols = cols, data_offset = want_off,
            data_bytes = fbytes, slots = k, version = Int(version), block_offset = boff, fields = names)
end

"""
A mapped object, read-only: a shmswarm segment (`kind == :shmswarm`) or a plain WA-1 object
(`:wa1`: no sequence counter, copies are not synchronised). `A` is the whole array as the WA-1
header describes it (cols × rows, cols × rows × k with slots, or the object's own N dims);
`slots[i]` is slot i - 1 as a cols × rows Matrix. Both are views: valid until close(seg).
"""
mutable struct Segment{T,N}
    name::String
    kind::Symbol
    rows::Int                           # agents (of one frame)
    cols::Int
    fields::Vector{String}
    A::Array{T,N}
    slots::Vector{Matrix{T}}
    block::Ptr{UInt8}                   # C_NULL for plain WA-1
    base::Ptr{UInt8}                    # C_NULL once closed
    size::Int
    file::Base.Filesystem.File          # kept open: check_size fstat()s it
end

Base.show(io::IO, s::Segment{T}) where {T} =
    print(io, "ShmswarmReader.Segment(", repr(s.name), ", ", s.kind, ", ", s.rows, " agents × ", s.cols, " ", T,
          length(s.slots) > 1 ? ", $(length(s.slots)) slots" : "", s.base == C_NULL ? ", closed)" : ")")

function check_name(name::AbstractString)
    ok = startswith(name, "/") && !occursin('/', name[2:end]) && !(name in ("/", "/.", "/..")) &&
         ncodeunits(name) ≤ 256 && !occursin('\0', name)
    ok || throw(ArgumentError("segment name $(repr(name)) must be \"/\" followed by 1-255 bytes without \"/\""))
end

"Open `path` (no symbolic link, a regular object) and map all of it, read-only or writable; returns (file, base, size)."
function map_object(path::AbstractString, writable::Bool)
    flags = (writable ? Base.Filesystem.JL_O_RDWR : Base.Filesystem.JL_O_RDONLY) | Base.Filesystem.JL_O_NOFOLLOW |
            Base.Filesystem.JL_O_NONBLOCK | Base.Filesystem.JL_O_CLOEXEC   # NONBLOCK: a FIFO must not block the open
    file = try
        Base.Filesystem.open(path, flags)
    catch err
        err isa Base.IOError || rethrow()
        err.code == Base.UV_ENOENT && fail(:ENOENT, "$path does not exist")
        err.code == Base.UV_ELOOP && fail(:ELOOP, "$path is a symbolic link; refused")
        fail(:EOPEN, "cannot open $path: $(err.msg)")
    end
    try
        st = stat(file)
        isfile(st) || fail(:EINVAL, "$path is not a regular shared-memory object")
        size = Int(st.size)
        size > 0 || return (file, Ptr{UInt8}(C_NULL), 0)
        prot = writable ? PROT_READ | PROT_WRITE : PROT_READ
        p = ccall(:mmap, Ptr{Cvoid}, (Ptr{Cvoid}, Csize_t, Cint, Cint, Cint, Int64), C_NULL, size, prot, MAP_SHARED, reinterpret(Cint, fd(file)), 0)
        p == MAP_FAILED && fail(:EMMAP, "mmap of $path failed (errno $(Libc.errno()))")
        return (file, Ptr{UInt8}(p), size)
    catch
        close(file)
        rethrow()
    end
end

unmap(base::Ptr{UInt8}, size::Int) = base == C_NULL || ccall(:munmap, Cint, (Ptr{Cvoid}, Csize_t), base, size)

"""
    open_segment(name) -> Segment
    open_segment(f, name)                 # f(seg), then close(seg)

Map `name` (e.g. "/swarm") read-only and validate its header (docs/FORMAT.md §7).
"""
function open_segment(name::AbstractString)
    check_name(name)
    file, base, size = map_object("/dev/shm" * name, false)   # Linux: POSIX shm objects live here
    try
        L = validate(base, size)
        A = unsafe_wrap(Array, Ptr{L.T}(base + L.data_offset), Tuple(L.dims))
        S = [unsafe_wrap(Array, Ptr{L.T}(base + L.data_offset + i * L.data_bytes), (L.cols, L.rows)) for i in 0:L.slots-1]
        fields = L.kind == :shmswarm && !isempty(L.fields) ? L.fields : ["c$i" for i in 0:L.cols-1]
        block = L.kind == :shmswarm ? base + L.block_offset : Ptr{UInt8}(C_NULL)
        return Segment(String(name), L.kind, L.rows, L.cols, fields, A, S, block, base, size, file)
    catch
        unmap(base, size)
        close(file)
        rethrow()
    end
end

function open_segment(f::Function, name::AbstractString)
    seg = open_segment(name)
    try
        return f(seg)
    finally
        close(seg)
    end
end

"Unmap and close. Idempotent; never unlinks. Every view of the segment is invalid afterwards."
function Base.close(seg::Segment)
    seg.base == C_NULL && return nothing
    unmap(seg.base, seg.size)
    seg.base = C_NULL
    close(seg.file)
    return nothing
end

Base.isopen(seg::Segment) = seg.base != C_NULL

# Touching a page past the end of a shrunk object is a SIGBUS that ends the process: look at the
# size first (a shrink during the copy itself can still end it).
function check_size(seg::Segment)
    seg.base == C_NULL && throw(ArgumentError("segment $(seg.name) is closed"))
    Int(stat(seg.file).size) ≥ seg.size || fail(:EBUS, "$(seg.name) shrank under this reader (re-created or truncated); open it again")
end

# The latest frame was left half-written by a writer that died (§10); read inside the seqlock window.
is_torn(blk::Ptr{UInt8}) = ld_acquire(UInt32, blk, B_FLAGS) & TORN != 0

"""
    read_frame!(dst, seg; timeout = 1.0) -> (data = dst, sequence, torn)

Copy one whole frame into `dst` (a cols × rows Matrix). `sequence` is the frame's sequence number
(a UInt64: frame n has 2n), `nothing` for a plain WA-1 object (its copy is not synchronised). `torn` is true
when that frame was left half-written by a writer that died (the TORN flag, docs/FORMAT.md §10):
its data then mixes two frames. Throws ShmswarmError(:ENOFRAME) when no whole copy was possible
before the timeout (the writer kept overwriting it, or died mid-frame and nobody repaired it yet).
"""
function read_frame!(dst::Matrix{T}, seg::Segment{T}; timeout::Real = 1.0) where {T}
    size(dst) == (seg.cols, seg.rows) || throw(DimensionMismatch("dst must be $(seg.cols) × $(seg.rows)"))
    check_size(seg)
    if seg.block == C_NULL
        copyto!(dst, seg.slots[1])
        return (data = dst, sequence = nothing, torn = false)
    end
    blk = seg.block
    k = length(seg.slots)
    deadline = time_ns() / 1e9 + timeout       # monotonic seconds
    tries = 0
    while true
        tries > 0 && check_size(seg)
        s1 = ld_acquire(UInt64, blk, B_SEQ)
        if k > 1
            # §9, format 2: frame n = s1 ÷ 2 is whole also while s1 is odd (frame n + 1 goes to another
            # slot). Its flags are the ones read while stats_seq is still below frame n + 1's odd seq.
            n = s1 >> 1
            torn = is_torn(blk)
            if ld_acquire(UInt64, blk, B_STATS_SEQ) < 2 * n + 1 && ld_acquire(UInt64, blk, B_SEQ) >> 1 == n
                copyto!(dst, seg.slots[n % k + 1])
                Threads.atomic_fence()        # the copy completes before the re-check
                if ld_acquire(UInt64, blk, B_SEQ) ≤ 2 * (n + k) - 2
                    return (data = dst, sequence = 2 * n, torn = torn)
                end
            end
        elseif iseven(s1)
            torn = is_torn(blk)
            copyto!(dst, seg.slots[1])
            Threads.atomic_fence()
            if ld_acquire(UInt64, blk, B_SEQ) == s1
                return (data = dst, sequence = s1, torn = torn)
            end
        end
        tries += 1
        time_ns() / 1e9 < deadline ||
            fail(:ENOFRAME, "$(seg.name): no whole frame after $tries tries: the writer kept overwriting it, or died mid-frame (a process with write access that locks the segment repairs that)")
        tries > 3 && sleep(0.001)             # give the writer the CPU (Julia's sleep resolution is about 1 ms)
    end
end

"""
    read_frame(seg; timeout = 1.0) -> (data, sequence, torn)

As read_frame!, into a new cols × rows Matrix: `A, seq, torn = read_frame(seg)`.
"""
read_frame(seg::Segment{T}; timeout::Real = 1.0) where {T} = read_frame!(Matrix{T}(undef, seg.cols, seg.rows), seg; timeout)

"Frames published so far, a UInt64 (`nothing` for a plain WA-1 object)."
function frames(seg::Segment)
    check_size(seg)
    if seg.block == C_NULL
        return nothing
    end
    return ld_acquire(UInt64, seg.block, B_FRAMES)
end

# ---- the seed's hand-made layout: a bare matrix and a separate mutex object ----

"""
A bare cols × rows matrix at `offset` of one object, and optionally the plain process-shared
pthread mutex that its WRITER initialised at `mutex_offset` of another. open_raw maps both once;
close(raw) unmaps them.
"""
mutable struct RawSegment{T}
    name::String
    cols::Int
    rows::Int
    offset::Int
    data::Ptr{UInt8}                          # C_NULL once closed
    data_size::Int
    data_file::Base.Filesystem.File
    mutex_name::Union{String,Nothing}   # nothing: copies are not synchronised
    mutex_map::Ptr{UInt8}               # the mutex object's mapping (C_NULL without one)
    mutex_map_size::Int
    mutex_offset::Int
    mutex_file::Union{Base.Filesystem.File,Nothing}
end

"""
    open_raw(name, T, (cols, rows); offset = 0, mutex = nothing, mutex_offset = 0) -> RawSegment

Never initialises the mutex (InterProcessCommunication's `Mutex(...)` constructor calls
pthread_mutex_init on a mutex the writer may be holding: do not use it for this).
"""
function open_raw(name::AbstractString, ::Type{T}, (cols, rows)::Tuple{Integer,Integer};
                  offset::Integer = 0, mutex::Union{AbstractString,Nothing} = nothing, mutex_offset::Integer = 0) where {T}
    check_name(name)
    T in ETYPES || throw(ArgumentError("element type $T is not one of $ETYPES"))
    cols ≥ 1 && rows ≥ 1 && offset ≥ 0 || throw(ArgumentError("shape and offset must be positive"))
    msize = get(MUTEX_SIZES, Sys.ARCH, 0)
    mutex === nothing || (msize > 0 && mutex_offset ≥ 0 && mutex_offset % 8 == 0) ||
        throw(ArgumentError("the mutex offset must be a multiple of 8 (and sizeof(pthread_mutex_t) known for $(Sys.ARCH))"))
    dfile, dbase, dsize = map_object("/dev/shm" * name, false)
    mfile, mbase, msz = nothing, Ptr{UInt8}(C_NULL), 0
    try
        dsize ≥ offset + sizeof(T) * cols * rows || fail(:ETRUNCATED, "$name: object of $dsize bytes cannot hold $cols × $rows $T at offset $offset")
        if mutex !== nothing
            check_name(mutex)
            mfile, mbase, msz = map_object("/dev/shm" * mutex, true)   # locking writes to the mutex
            msz ≥ mutex_offset + msize || fail(:ETRUNCATED, "$mutex: object of $msz bytes has no $msize-byte pthread mutex at offset $mutex_offset")
        end
    catch
        unmap(dbase, dsize)
        close(dfile)
        mfile === nothing || (unmap(mbase, msz); close(mfile))
        rethrow()
    end
    return RawSegment{T}(String(name), cols, rows, offset, dbase, dsize, dfile,
                         mutex === nothing ? nothing : String(mutex), mbase, msz, mutex_offset, mfile)
end

"""
    read_frame!(dst, raw; timeout = 1.0) -> (data = dst, sequence = nothing, locked, recovered)

Copy the matrix (bytes, so any offset works), under the writer's mutex when there is one, taken
with a timeout. A copy without a mutex may mix two frames (`locked == false`); `recovered`: the
mutex is robust and its holder had died (the copy may then mix two frames too).
"""
function read_frame!(dst::Matrix{T}, raw::RawSegment{T}; timeout::Real = 1.0) where {T}
    size(dst) == (raw.cols, raw.rows) || throw(DimensionMismatch("dst must be $(raw.cols) × $(raw.rows)"))
    raw.data == C_NULL && throw(ArgumentError("raw segment $(raw.name) is closed"))
    Int(stat(raw.data_file).size) ≥ raw.data_size || fail(:EBUS, "$(raw.name) shrank under this reader; open it again")
    copy_bytes() = GC.@preserve dst unsafe_copyto!(Ptr{UInt8}(pointer(dst)), raw.data + raw.offset, sizeof(dst))
    if raw.mutex_map == C_NULL
        copy_bytes()
        return (data = dst, sequence = nothing, locked = false, recovered = false)
    end
    Int(stat(raw.mutex_file).size) ≥ raw.mutex_map_size || fail(:EBUS, "$(raw.mutex_name) shrank under this reader; open it again")
    mutex = raw.mutex_map + raw.mutex_offset
    t = time() + timeout                      # CLOCK_REALTIME deadline for timedlock
    ts = Ref((Int64(floor(t)), Int64(floor((t - floor(t)) * 1e9))))  # struct timespec on 64-bit Linux
    rc = ccall(:pthread_mutex_timedlock, Cint, (Ptr{Cvoid}, Ptr{Cvoid}), mutex, ts)
    rc == EOWNERDEAD && ccall(:pthread_mutex_consistent, Cint, (Ptr{Cvoid},), mutex)  # a robust mutex whose holder died
    rc == 0 || rc == EOWNERDEAD ||
        fail(:ELOCK, "$(raw.mutex_name): pthread_mutex_timedlock failed with errno $rc (ETIMEDOUT: the writer holds it, or died holding a mutex that is not robust)")
    try
        copy_bytes()
    finally
        ccall(:pthread_mutex_unlock, Cint, (Ptr{Cvoid},), mutex)
    end
    return (data = dst, sequence = nothing, locked = true, recovered = rc == EOWNERDEAD)
end

read_frame(raw::RawSegment{T}; timeout::Real = 1.0) where {T} = read_frame!(Matrix{T}(undef, raw.cols, raw.rows), raw; timeout)

function Base.close(raw::RawSegment)
    raw.data == C_NULL && return nothing
    unmap(raw.data, raw.data_size)
    raw.data = C_NULL
    close(raw.data_file)
    if raw.mutex_file !== nothing
        unmap(raw.mutex_map, raw.mutex_map_size)
        close(raw.mutex_file)
    end
    return nothing
end

end # module
