// Where a frame becomes NATS messages: follows a segment's sequence counter, reads each new
// frame once, and sends it (in chunks when it is larger than the server's max_payload) with the
// headers of src/bridge/wire.ts. Never queues without bound: at most one frame waits for the
// server's acknowledgement (a flush) while the next is sent, frames that came meanwhile are
// skipped and counted, and nothing is sent while the connection is down.
import { randomBytes } from 'node:crypto';
import { endianness, hostname } from 'node:os';
import { Events, headers as natsHeaders, type NatsConnection } from 'nats';
import { allocFrame, isShmswarmError, parseDtype, Segment, ShmswarmError, type Frame, type TypedArray } from '../core/index.js';
import { RateSchedule } from '../core/schedule.js';
import { closeConnection } from './connect.js';
import { sendPiecesAsIs } from './natsio.js';
import { chunkCount, frameHeaders, LAST_PREFIX, LAST_STREAM, lastSubject, statusHeaders, type FrameMeta, type SourceState } from './wire.js';

export interface PublisherOptions {
  name: string;
  subject: string;
  /** At most this many frames per second (0: every frame the connection keeps up with). */
  maxRate: number;
  /** Keep the latest frame in JetStream when the server has it (default true). */
  jetstream: boolean;
  /** How often at most the latest frame is stored in JetStream, in ms. */
  lastIntervalMs?: number;
  /** Progress and problems, one line each. */
  log: (level: 'info' | 'warn', message: string) => void;
}

export interface PublisherSummary {
  sent: number;
  skipped: number;
  bytes: number;
  messages: number;
  disconnects: number;
  jetstream: boolean;
}

const IDLE_CHECK_MS = 250;
const HEARTBEAT_MS = 1000;
const FLUSH_TIMEOUT_MS = 2000;
/** Room kept in each message for the NATS protocol line beside the headers. */
const MARGIN = 256;

/** Bytes the headers take on the wire ("NATS/1.0\r\n", "k: v\r\n" each, "\r\n"). */
function headerBytes(h: Record<string, string>): number {
  let n = 12;
  for (const [k, v] of Object.entries(h)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}

function toNats(h: Record<string, string>) {
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

function fieldsOf(seg: Segment): string[] | null {
  return seg.info().fieldsNamed ? [...seg.fields] : null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Publisher {
  readonly #nc: NatsConnection;
  readonly #o: PublisherOptions;
  readonly #id = randomBytes(8).toString('hex');
  readonly #host = hostname();
  #seg: Segment;
  /** The segment's field names, or null when its columns are unnamed. */
  #fields: string[] | null;
  #stopping = false;
  #connected = true;
  #disconnectedAt = 0;
  #skippedWhileDown = 0;
  #frameNo = 0;
  #lastN = -1;
  #skipped = 0;
  #bytes = 0;
  #messages = 0;
  #disconnects = 0;
  #lastSentAt = 0;
  #state: SourceState = 'live';
  #inflight: Promise<boolean> | null = null;
  /**
   * Two frame buffers, used in turn. The client does not copy a message's payload: it writes a
   * view of the buffer to the socket (src/bridge/natsio.ts), and the socket holds it until the
   * kernel has taken it. A buffer is read into again only after the flush behind the frame it
   * last carried has come back (#publish); a flush that fails or times out, or a
   * disconnection (the client then keeps queued messages as references), retires both buffers
   * and new ones are made, so a message still queued stays intact.
   */
  #buffers: [TypedArray | null, TypedArray | null] = [null, null];
  #turn = 0;
  #jetstream = false;
  #lastStoredAt = 0;
  #unstored: { meta: FrameMeta; bytes: Uint8Array } | null = null;

  private constructor(nc: NatsConnection, seg: Segment, o: PublisherOptions) {
    this.#nc = nc;
    this.#seg = seg;
    this.#fields = fieldsOf(seg);
    this.#o = o;
  }

  /** Open the segment (ENOENT, ENOTSHMSWARM before anything is sent) and set up JetStream. */
  static async open(nc: NatsConnection, o: PublisherOptions): Promise<Publisher> {
    // The wire format is little-endian and frames go out as their bytes are in memory.
    if (endianness() !== 'LE') throw new ShmswarmError('this host is big-endian; the wire format (docs/BRIDGES.md) carries little-endian frames, and publish does not convert them', 'EBYTEORDER');
    const p = new Publisher(nc, Publisher.#openSegment(o.name), o);
    sendPiecesAsIs(nc);
    if (o.jetstream) await p.#setUpJetStream();
    // Ends when the connection closes; never awaited (its iterator may outlive a drained connection).
    void p.#watchConnection();
    return p;
  }

  static #openSegment(name: string): Segment {
    let seg: Segment;
    try {
      // Write access lets the wait sleep on the futex instead of polling; it never writes.
      seg = Segment.open(name);
    } catch (e) {
      if (!isShmswarmError(e, 'EACCES') && !isShmswarmError(e, 'EROFS')) throw e;
      seg = Segment.open(name, { readonly: true });
    }
    if (seg.kind !== 'shmswarm') {
      seg.close();
      throw new ShmswarmError(`${name} is a plain WA-1 array: it has no sequence counter to follow, so there are no frames to publish`, 'ENOTSHMSWARM', { segment: name });
    }
    return seg;
  }

  async #setUpJetStream(): Promise<void> {
    const { log, subject } = this.#o;
    if (!this.#nc.info?.jetstream) {
      log('warn', `the server has no JetStream: publishing live only (a subscriber that joins gets the next frame, not the current one)`);
      return;
    }
    try {
      const jsm = await this.#nc.jetstreamManager();
      let config;
      try {
        config = (await jsm.streams.info(LAST_STREAM)).config;
      } catch (e) {
        if ((e as { code?: string }).code !== '404') throw e;
        config = (await jsm.streams.add({
          name: LAST_STREAM, subjects: [`${LAST_PREFIX}.>`], max_msgs_per_subject: 1, allow_direct: true,
          storage: 'memory' as never, discard: 'old' as never, num_replicas: 1,
        })).config;
      }
      if (!config.subjects?.includes(`${LAST_PREFIX}.>`) || config.max_msgs_per_subject !== 1 || !config.allow_direct) {
        log('warn', `JetStream stream ${LAST_STREAM} exists with another configuration (subjects ${config.subjects?.join(' ')}, ${config.max_msgs_per_subject} per subject, direct get ${config.allow_direct ? 'on' : 'off'}): publishing live only`);
        return;
      }
      this.#jetstream = true;
      log('info', `the latest frame is also kept in JetStream (stream ${LAST_STREAM}, subjects ${lastSubject(subject, 0)} ...)`);
    } catch (e) {
      log('warn', `JetStream is not usable (${(e as Error).message}): publishing live only`);
    }
  }

  /** Follow the connection's state: nothing is published while it is down. */
  async #watchConnection(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === Events.Disconnect) {
        if (!this.#connected) continue;
        this.#connected = false;
        this.#disconnects++;
        this.#disconnectedAt = performance.now();
        this.#retireBuffers();
        this.#skippedWhileDown = 0;
        this.#o.log('warn', `disconnected from the server; frames are skipped until it comes back`);
      } else if (s.type === Events.Reconnect) {
        this.#connected = true;
        const secs = ((performance.now() - this.#disconnectedAt) / 1000).toFixed(1);
        this.#o.log('info', `reconnected after ${secs} s; ${this.#skippedWhileDown} frames skipped meanwhile`);
        this.#sendStatus();
      }
    }
  }

  get summary(): PublisherSummary {
    return { sent: this.#frameNo, skipped: this.#skipped, bytes: this.#bytes, messages: this.#messages, disconnects: this.#disconnects, jetstream: this.#jetstream };
  }

  /** Ask run() to end after the frame it is on. */
  stop(): void {
    this.#stopping = true;
  }

  /** Publish until stop(); then say `stopped` and flush. */
  async run(): Promise<PublisherSummary> {
    const rate = this.#o.maxRate > 0 ? new RateSchedule(this.#o.maxRate, performance.now()) : null;
    this.#sendStatus();
    try {
      while (!this.#stopping) {
        // Paced before waiting, so the frame sent after a pause is the latest one.
        const wait = rate ? rate.delayMs(performance.now()) : 0;
        if (wait > 0) await sleep(wait);
        const frame = await this.#nextFrame();
        if (!frame) continue;
        rate?.advance();
        await this.#publish(frame);
      }
    } finally {
      await this.#finish();
    }
    return this.summary;
  }

  /** The next frame newer than the last one sent, or null (idle, disconnected, stopping). */
  async #nextFrame(): Promise<Frame<TypedArray> | null> {
    const seen = this.#lastN < 0 ? 0 : this.#lastN * 2;
    try {
      await this.#seg.waitForFrame(seen, { timeoutMs: IDLE_CHECK_MS });
    } catch (e) {
      if (!isShmswarmError(e, 'ETIMEDOUT')) throw e;
      await this.#idle();
      return null;
    }
    if (this.#stopping) return null;
    const frame = this.#seg.readFrame({ since: seen, into: this.#buffer() });
    if (!frame) return null;
    const n = frame.sequence / 2;
    const skipped = this.#lastN < 0 ? 0 : Math.max(0, n - this.#lastN - 1);
    if (!this.#connected) {
      // Counted, not sent: the client would keep every message in memory until it reconnects.
      this.#skipped += skipped + 1;
      this.#skippedWhileDown += skipped + 1;
      this.#lastN = n;
      return null;
    }
    this.#skipped += skipped;
    this.#lastN = n;
    this.#turn ^= 1; // this buffer goes out; the next frame is read into the other one
    if (this.#state !== 'live') {
      this.#state = 'live';
      this.#o.log('info', `${this.#o.name}: frames again (writer pid ${frame.writerPid})`);
    }
    return frame;
  }

  /** The buffer whose turn it is, of the current segment's frame size (the turn passes when a frame read into it is sent). */
  #buffer(): TypedArray {
    const seg = this.#seg;
    let buf = this.#buffers[this.#turn];
    if (!buf || buf.length !== seg.length || !(buf instanceof parseDtype(seg.dtype).array)) {
      buf = allocFrame(parseDtype(seg.dtype), seg.length);
      this.#buffers[this.#turn] = buf;
    }
    return buf;
  }

  /** No new frame for a while: heartbeat, store a frame JetStream missed, notice a dead writer or a re-created segment. */
  async #idle(): Promise<void> {
    if (this.#unstored && this.#connected) {
      this.#store(this.#unstored.meta, this.#unstored.bytes);
      // Its buffer is read into again only once the server has it (see #buffers).
      if (!(await this.#flush())) this.#retireBuffers();
    }
    const status = this.#seg.nameStatus();
    if (status !== 'same') {
      try {
        const seg = Publisher.#openSegment(this.#o.name);
        this.#seg.close();
        this.#seg = seg;
        this.#fields = fieldsOf(seg);
        this.#lastN = -1;
        this.#o.log('info', `${this.#o.name} was re-created (${seg.rows}x${seg.cols} ${seg.dtype}): following the new segment`);
        return;
      } catch {
        this.#setState('writer-gone', `${this.#o.name} was removed; waiting for it to be created again`);
      }
    } else {
      const info = this.#seg.info();
      if (info.writerPid !== null && !info.writerAlive) this.#setState('writer-gone', `the writer of ${this.#o.name} (pid ${info.writerPid}) is not running; the last frame stays published`);
    }
    if (performance.now() - this.#lastSentAt >= HEARTBEAT_MS) this.#sendStatus();
  }

  #setState(state: SourceState, message: string): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#o.log('warn', message);
    this.#sendStatus();
  }

  #sendStatus(): void {
    if (!this.#connected) return;
    const h = statusHeaders({ id: this.#id, frame: this.#frameNo, skipped: this.#skipped, name: this.#o.name, host: this.#host, state: this.#state });
    try {
      this.#nc.publish(this.#o.subject, undefined, { headers: toNats(h) });
      this.#messages++;
      this.#lastSentAt = performance.now();
    } catch {
      // Closed or draining: there is no one to tell.
    }
  }

  #meta(frame: Frame<TypedArray>): FrameMeta {
    const seg = this.#seg;
    return {
      id: this.#id, frame: this.#frameNo, skipped: this.#skipped, name: this.#o.name, host: this.#host,
      rows: seg.rows, cols: seg.cols, dtype: parseDtype(seg.dtype),
      fields: this.#fields,
      bytes: frame.data.byteLength, sequence: frame.sequence, time: frame.lastWriteTime ?? Date.now(),
    };
  }

  /** Send one frame (from one of the two buffers: see #buffers). */
  async #publish(frame: Frame<TypedArray>): Promise<void> {
    this.#frameNo++;
    const meta = this.#meta(frame);
    const bytes = new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    this.#send(this.#o.subject, meta, bytes);
    if (this.#jetstream) {
      if (performance.now() - this.#lastStoredAt >= (this.#o.lastIntervalMs ?? 250)) this.#store(meta, bytes);
      else this.#unstored = { meta, bytes };
    }
    this.#lastSentAt = performance.now();
    // One frame may wait for the server's acknowledgement while this one goes out; not two.
    // The previous frame's flush coming back frees its buffer, the one the next frame is read into.
    const flushed = this.#flush();
    const previous = this.#inflight;
    this.#inflight = flushed;
    if (previous && !(await previous)) this.#retireBuffers();
  }

  /** Make new buffers: the old ones may still be referenced by messages the client has not written. */
  #retireBuffers(): void {
    this.#buffers = [null, null];
  }

  #store(meta: FrameMeta, bytes: Uint8Array): void {
    this.#unstored = null;
    this.#lastStoredAt = performance.now();
    this.#send(null, meta, bytes);
  }

  /** Publish `bytes` in as many chunks as max_payload needs, to the live subject (or, with null, the JetStream copy). */
  #send(subject: string | null, meta: FrameMeta, bytes: Uint8Array): void {
    const maxPayload = this.#nc.info?.max_payload ?? 1 << 20;
    // The headers' size with the widest chunk numbers this frame could have.
    const room = maxPayload - headerBytes(frameHeaders(meta, bytes.byteLength, bytes.byteLength)) - MARGIN;
    if (room < 1024) throw new ShmswarmError(`the server's max_payload (${maxPayload} bytes) leaves no room for a frame's headers`, 'EMSGSIZE');
    const chunks = chunkCount(bytes.byteLength, room);
    const size = Math.ceil(bytes.byteLength / chunks);
    for (let i = 0; i < chunks; i++) {
      const h = toNats(frameHeaders(meta, i, chunks));
      const part = bytes.subarray(i * size, Math.min(bytes.byteLength, (i + 1) * size));
      this.#nc.publish(subject ?? lastSubject(this.#o.subject, i), part, { headers: h });
      this.#messages++;
    }
    if (subject !== null) this.#bytes += bytes.byteLength;
  }

  /**
   * The server has everything sent so far (true), or the flush failed or timed out (false);
   * bounded, so a connection that drops cannot hang the loop.
   */
  #flush(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), FLUSH_TIMEOUT_MS)));
    return Promise.race([this.#nc.flush().then(() => true, () => false), timeout]).finally(() => clearTimeout(timer));
  }

  async #finish(): Promise<void> {
    if (this.#inflight) await this.#inflight;
    this.#state = 'stopped';
    this.#sendStatus();
    await this.#flush();
    this.#seg.close();
  }

  /** Close the connection (after run() returned): drains what is buffered. */
  async close(): Promise<void> {
    await closeConnection(this.#nc, this.#connected);
  }
}

