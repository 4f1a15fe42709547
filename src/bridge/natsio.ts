// Two copies the nats.js 2.29 client makes of every large message, removed for the bridge's
// connections (measured with `node bench/nats.js --cpu-prof DIR`: docs/PERFORMANCE.md).
//
// - Publish: nats.js gathers a message's pieces (protocol line, headers, payload, CRLF) and,
//   before writing them to the socket, concatenates them into one new array (DataBuffer.pack):
//   one copy of every payload byte and one allocation per message. `sendPiecesAsIs` writes the
//   pieces to the corked socket instead, one writev, no copy. The socket then holds a reference
//   to the payload until the kernel has taken it: the caller may reuse the payload's memory only
//   after a flush (PING/PONG, sent behind it on the same socket) has resolved. The publisher
//   does exactly that (src/bridge/publisher.ts, #buffers).
// - Receive: a message that spans socket reads is gathered in a buffer that starts at the size
//   of its first piece and doubles as the rest arrives (DenoBuffer._grow): two to three copies of
//   every byte, and garbage. `presizeMessages` gives such a message one buffer of its announced
//   size at once (bounded by the server's max_payload), placed so that the payload after the
//   headers starts 64-byte aligned, so a one-message frame is used in place.
//
// Both reach into the client's internals; each checks the shape it relies on and, when the
// client is not the one it knows, leaves it alone (the bridge works the same, with the copies).
import type { NatsConnection } from 'nats';

interface Outbound {
  buffers: Uint8Array[];
  size(): number;
  reset(): void;
}

interface Socketish {
  cork(): void;
  uncork(): void;
}

interface Transport {
  socket?: Socketish;
  send(frame: Uint8Array): void;
}

interface ParserLike {
  state: number;
  dispatcher?: { info?: { max_payload?: number } };
  msgBuf?: unknown;
  ma?: { size: number; hdr: number };
  parse(buf: Uint8Array): void;
}

interface Protocol {
  outbound: Outbound;
  transport: Transport;
  infoReceived: boolean;
  connected: boolean;
  flushPending(): void;
  parser: ParserLike;
  info?: { max_payload?: number };
}

/** The parser state of nats.js 2.29 while it reads a message's payload (parser.js, State.MSG_PAYLOAD). */
const MSG_PAYLOAD = 15;
/** Only messages at least this large get a buffer of their own; smaller ones are cheap either way. */
const PRESIZE_FROM = 64 * 1024;
const ALIGN = 64;
const PATCHED = Symbol('shmswarm.presized');

function protocolOf(nc: NatsConnection): Protocol | null {
  const p = (nc as unknown as { protocol?: Protocol }).protocol;
  if (!p || typeof p !== 'object') return null;
  if (typeof p.flushPending !== 'function' || !p.outbound || !Array.isArray(p.outbound.buffers) || typeof p.outbound.reset !== 'function') return null;
  if (!p.parser || typeof p.parser.parse !== 'function' || typeof p.parser.state !== 'number') return null;
  return p;
}

/**
 * Write each message's pieces to the socket as they are (corked: one writev), instead of
 * copying them into one array first. Whether the connection's client could be changed.
 */
export function sendPiecesAsIs(nc: NatsConnection): boolean {
  const p = protocolOf(nc);
  if (!p) return false;
  const original = p.flushPending;
  p.flushPending = function (this: Protocol) {
    const sock = this.transport?.socket;
    if (!this.infoReceived || !this.connected || this.outbound.size() === 0 || !sock || typeof sock.cork !== 'function') {
      original.call(this);
      return;
    }
    const pieces = this.outbound.buffers.slice();
    this.outbound.reset();
    sock.cork();
    try {
      for (const b of pieces) this.transport.send(b);
    } finally {
      sock.uncork();
    }
  };
  return true;
}

/**
 * The payload of one large message, gathered in a buffer of its announced size: what the
 * nats.js parser asks of its message buffer (length, write, writeByte, bytes), without growth.
 */
class PresizedMessage {
  #buf: Uint8Array;
  #len = 0;

  constructor(size: number, hdr: number, first: Uint8Array, memory: ArrayBuffer) {
    // The payload (after `hdr` bytes of headers) starts on a 64-byte boundary.
    const start = (ALIGN - (hdr % ALIGN)) % ALIGN;
    this.#buf = new Uint8Array(memory, start, size);
    this.write(first);
  }

  get length(): number {
    return this.#len;
  }

  write(p: Uint8Array): number {
    if (this.#len + p.byteLength > this.#buf.byteLength) {
      // Never asked by the parser (it writes at most the announced size); kept correct anyway.
      const bigger = new Uint8Array(Math.max(this.#len + p.byteLength, 2 * this.#buf.byteLength));
      bigger.set(this.#buf.subarray(0, this.#len));
      this.#buf = bigger;
    }
    this.#buf.set(p, this.#len);
    this.#len += p.byteLength;
    return p.byteLength;
  }

  writeByte(b: number): number {
    return this.write(Uint8Array.of(b));
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

/**
 * Memory for large messages, given back by the receiver once it has copied a message out
 * (recycleMessage): a new frame-sized ArrayBuffer for every chunk costs the kernel's page faults
 * and zero-filling on the receiving side of every frame (docs/PERFORMANCE.md, NATS bridge).
 * A message never given back is left to the garbage collector as before.
 */
const spare: ArrayBuffer[] = [];
const SPARE_MAX = 4;
/** Sizes are rounded up to this: a frame's chunks differ by a few header bytes, and its last one is shorter. */
const SIZE_CLASS = 64 * 1024;
const ours = new WeakSet<ArrayBuffer>();

function takeMessageMemory(bytes: number): ArrayBuffer {
  const size = Math.ceil(bytes / SIZE_CLASS) * SIZE_CLASS;
  const i = spare.findIndex((b) => b.byteLength === size);
  if (i >= 0) return spare.splice(i, 1)[0]!;
  const b = new ArrayBuffer(size);
  ours.add(b);
  return b;
}

/**
 * The receiver has copied `payload` out and holds no view of it: the memory of a presized
 * message may be reused for a later one. Anything else is ignored.
 */
export function recycleMessage(payload: Uint8Array): void {
  const b = payload.buffer as ArrayBuffer;
  if (!ours.has(b) || spare.includes(b)) return;
  if (spare.length >= SPARE_MAX) spare.shift();
  spare.push(b);
}

/**
 * Give every large message that spans socket reads one buffer of its announced size (at most
 * the server's max_payload) instead of a doubling one. Whether the connection's client could be
 * changed. Applies to the parser the connection has and to the ones it makes on reconnection
 * (the parser class is changed once per process).
 */
export function presizeMessages(nc: NatsConnection): boolean {
  const p = protocolOf(nc);
  if (!p) return false;
  const proto = Object.getPrototypeOf(p.parser) as ParserLike & { [PATCHED]?: boolean };
  if (proto[PATCHED]) return true;
  const parse = proto.parse;
  proto.parse = function (this: ParserLike, buf: Uint8Array) {
    parse.call(this, buf);
    const mb = this.msgBuf as { length?: number; bytes?: (o: { copy: boolean }) => Uint8Array } | undefined;
    if (this.state !== MSG_PAYLOAD || !mb || !this.ma || mb instanceof PresizedMessage || typeof mb.bytes !== 'function') return;
    const size = this.ma.size;
    const hdr = Math.max(0, this.ma.hdr); // -1: a message without headers
    // The server refuses larger messages; a size beyond it is not believed (the client's own buffer then grows as before).
    const limit = this.dispatcher?.info?.max_payload ?? 1 << 20;
    if (!(Number.isSafeInteger(size) && size >= PRESIZE_FROM && size <= limit && hdr <= size)) return;
    this.msgBuf = new PresizedMessage(size, hdr, mb.bytes({ copy: false }), takeMessageMemory(size + ALIGN));
  };
  proto[PATCHED] = true;
  return true;
}
