// Where NATS messages become a local mirror segment: every message is checked (src/bridge/wire.ts)
// before any of its bytes reach shared memory, chunks are put together, and only whole frames
// are written — the latest one: a frame that completes while an older one waits to be written
// replaces it (counted), so a slow mirror never builds a backlog. The mirror is created with
// the first whole frame's shape; a frame of another shape re-creates it (docs/BRIDGES.md).
import { Events, type Msg, type MsgHdrs, type NatsConnection } from 'nats';
import { closeConnection } from './connect.js';
import { presizeMessages, recycleMessage } from './natsio.js';
import { allocFrame, isShmswarmError, Segment, ShmswarmError, type TypedArray } from '../core/index.js';
import { removeMirrorStatus, writeMirrorStatus, type MirrorState, type MirrorStatus } from './status.js';
import { Assembler, decodeMessage, LAST_STREAM, lastSubject, sameShape, WireProblem, type ChunkMsg, type FrameMeta, type Problem, type SourceState, type StatusMsg, type WholeFrame } from './wire.js';

export interface SubscriberOptions {
  subject: string;
  /** The local segment's name. */
  mirror: string;
  /** The server as people see it (no credentials), for the status. */
  from: string;
  mode: number;
  /** Replace an existing segment of that name whose writer is dead. */
  force: boolean;
  maxFrameBytes: number;
  log: (level: 'info' | 'warn', message: string) => void;
}

export interface SubscriberSummary {
  mirrored: number;
  /** Source frames never mirrored (skipped by the publisher, lost on the way, superseded here). */
  missed: number;
  /** Frames the publisher sent that never arrived whole. */
  lost: number;
  /** Whole frames replaced by a newer one before they were written. */
  superseded: number;
  /** Messages refused, by kind of problem. */
  refused: Partial<Record<Problem, number>>;
  recreated: number;
  disconnects: number;
  /** What close() did with the mirror: removed it, kept it (`keep`), or there was none. */
  mirror: 'removed' | 'kept' | 'none';
}

/** Nothing at all from the publisher for this long: the source is called gone. */
const SILENT_AFTER_MS = 3000;
/** No frame for this long while the publisher speaks: idle. */
const IDLE_AFTER_MS = 2000;
const STATUS_EVERY_MS = 1000;

/** What we know of the publisher whose frames we mirror. */
interface Source {
  id: string;
  name: string;
  host: string;
  /** Its frame counter when we first heard from it live (frames before that are not lost to us); null until then. */
  base: number | null;
  /** Highest frame number it has said it sent. */
  highest: number;
  received: number;
  state: SourceState;
}

export class Subscriber {
  readonly #nc: NatsConnection;
  readonly #o: SubscriberOptions;
  readonly #live: Assembler;
  #mirror: Segment | null = null;
  #mirrorMeta: FrameMeta | null = null;
  #pending: WholeFrame | null = null;
  #pendingStored = false;
  /** Where a one-message frame whose payload is not aligned for its type is copied. */
  #aligned: TypedArray | null = null;
  /** Frames lost from publishers heard before the current one. */
  #lostBefore = 0;
  #writeScheduled = false;
  /** A frame was written in this turn of the event loop (see #deliver). */
  #wroteThisTurn = false;
  #source: Source | null = null;
  /** Source frame number of the last frame mirrored, and its publisher; `stored`: it came from JetStream. */
  #lastMirrored: { id: string; n: number; stored: boolean } | null = null;
  #lastFrameTime: number | null = null;
  #lastFrameAt = 0;
  #lastMessageAt = 0;
  #connected = true;
  #disconnectedAt = 0;
  #summary: SubscriberSummary = { mirrored: 0, missed: 0, lost: 0, superseded: 0, refused: {}, recreated: 0, disconnects: 0, mirror: 'none' };
  #timer: NodeJS.Timeout | null = null;
  #stateShown: MirrorState | null = null;
  #statusWrittenAt = -Infinity;
  #statusFailed = false;
  #fatal: (e: unknown) => void = () => {};
  /** The mirror cannot go on (see failed): no frame is written any more, so its name is never created again. */
  #failedAlready = false;
  #done: Promise<void>;

  constructor(nc: NatsConnection, o: SubscriberOptions) {
    this.#nc = nc;
    this.#o = o;
    this.#live = new Assembler((p) => this.#refuse(p));
    this.#done = new Promise((_resolve, reject) => (this.#fatal = (e) => {
      this.#failedAlready = true;
      reject(e);
    }));
    this.#done.catch(() => {});
  }

  get summary(): SubscriberSummary {
    return this.#summary;
  }

  /** A promise that rejects when the mirror cannot go on (its name taken, no room in /dev/shm). */
  get failed(): Promise<void> {
    return this.#done;
  }

  /** Subscribe, then fetch the latest frame JetStream keeps (if any) so the mirror starts at once. */
  async start(): Promise<void> {
    this.#lastMessageAt = performance.now();
    presizeMessages(this.#nc);
    this.#nc.subscribe(this.#o.subject, { callback: (err, msg) => (err ? undefined : this.#onMessage(msg, this.#live)) });
    // Ends when the connection closes; never awaited (its iterator may outlive a drained connection).
    void this.#watchConnection();
    this.#timer = setInterval(() => this.#tick(), STATUS_EVERY_MS / 4);
    await this.#nc.flush();
    await this.#fetchLatest();
  }

  async #fetchLatest(): Promise<void> {
    const { log, subject } = this.#o;
    if (!this.#nc.info?.jetstream) {
      log('info', `the server has no JetStream: waiting for the next live frame on ${subject}`);
      return;
    }
    const assembler = new Assembler((p) => this.#refuse(p));
    try {
      // Direct get is in the manager nats 2.29 returns, not yet in its declared interface.
      const jsm = (await this.#nc.jetstreamManager()) as unknown as { direct: DirectGet };
      let chunks = 1;
      for (let i = 0; i < chunks; i++) {
        const m = await jsm.direct.getMessage(LAST_STREAM, { last_by_subj: lastSubject(subject, i) });
        const decoded = this.#decode((k) => m.header.get(k) || undefined, m.data);
        if (!decoded || decoded.kind !== 'frame') return;
        if (i === 0) chunks = decoded.chunks;
        const whole = assembler.add(decoded, m.data);
        // A chunk refused (out of order: the publisher replaced the stored chunks meanwhile): stop asking.
        if (!whole && !assembler.building) return;
        if (whole) {
          // A live frame of the same publisher may have come meanwhile: never go back to an older one.
          const last = this.#lastMirrored;
          if (last && last.id === whole.meta.id && last.n >= whole.meta.sequence / 2) return;
          if (this.#pending && this.#pending.meta.id === whole.meta.id && this.#pending.meta.frame >= whole.meta.frame) return;
          log('info', `latest frame from JetStream: ${whole.meta.rows}x${whole.meta.cols} ${whole.meta.dtype.name}, written ${ageText(whole.meta.time)} by ${whole.meta.host}:${whole.meta.name}`);
          const m = whole.meta;
          this.#source ??= { id: m.id, name: m.name, host: m.host, base: null, highest: 0, received: 0, state: 'live' };
          this.#deliver(whole, true);
        }
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === '404') log('info', `no latest frame kept in JetStream for ${subject}: waiting for the next live frame`);
      else log('info', `JetStream has no latest frame for us (${(e as Error).message}): waiting for the next live frame`);
    }
  }

  async #watchConnection(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === Events.Disconnect) {
        if (!this.#connected) continue;
        this.#connected = false;
        this.#summary.disconnects++;
        this.#disconnectedAt = performance.now();
        this.#o.log('warn', 'disconnected from the server; the mirror keeps its last frame while reconnecting');
        this.#live.abandon();
        this.#writeStatus(true);
      } else if (s.type === Events.Reconnect) {
        this.#connected = true;
        this.#lastMessageAt = performance.now();
        this.#o.log('info', `reconnected after ${((performance.now() - this.#disconnectedAt) / 1000).toFixed(1)} s`);
        this.#writeStatus(true);
      }
    }
  }

  #decode(get: (k: string) => string | undefined, payload: Uint8Array): StatusMsg | ChunkMsg | null {
    try {
      return decodeMessage(get, payload.byteLength, this.#o.maxFrameBytes);
    } catch (e) {
      if (e instanceof WireProblem) {
        this.#refuse(e);
        return null;
      }
      throw e;
    }
  }

  #onMessage(msg: Msg, assembler: Assembler): void {
    this.#lastMessageAt = performance.now();
    const h = msg.headers;
    const decoded = h ? this.#decode((k) => (h.has(k) ? h.get(k) : undefined), msg.data) : (this.#refuse(new WireProblem('header', 'a message without headers (not a shmswarm message)')), null);
    if (!decoded) return;
    if (decoded.kind === 'status') {
      this.#noteSource(decoded, true);
      return;
    }
    this.#noteSource(decodedStatusOf(decoded.meta), false);
    const whole = assembler.add(decoded, msg.data);
    // A chunk of a larger frame was copied into the frame being put together (or dropped): its memory is free.
    if (decoded.chunks > 1) recycleMessage(msg.data);
    if (whole) {
      const src = this.#source;
      if (src && src.id === whole.meta.id) src.received++;
      this.#deliver(whole);
    }
  }

  /** Keep track of the publisher: a new one (restarted, or another on the subject), its state, frames it sent. */
  #noteSource(s: StatusMsg, isStatus: boolean): void {
    let src = this.#source;
    if (!src || src.id !== s.id) {
      if (src) this.#lostBefore += lostOf(src);
      if (src) this.#o.log('info', `another publisher on ${this.#o.subject}: ${s.host}:${s.name} (id ${s.id})`);
      src = this.#source = { id: s.id, name: s.name, host: s.host, base: null, highest: s.frame, received: 0, state: 'live' };
    }
    // A status counts frames sent already; a frame message is itself frame s.frame.
    src.base ??= isStatus ? s.frame : s.frame - 1;
    src.highest = Math.max(src.highest, s.frame);
    if (isStatus && s.state !== src.state) {
      src.state = s.state;
      if (s.state === 'writer-gone') this.#o.log('warn', `source gone: the writer of ${s.host}:${s.name} is not running (the mirror keeps its last frame)`);
      else if (s.state === 'stopped') this.#o.log('warn', `source gone: the publisher of ${s.host}:${s.name} stopped (the mirror keeps its last frame)`);
      else this.#o.log('info', `source back: ${s.host}:${s.name}`);
      this.#writeStatus(true);
    } else if (!isStatus && src.state !== 'live') {
      src.state = 'live';
      this.#o.log('info', `source back: ${s.host}:${s.name}`);
    }
  }

  #refuse(p: WireProblem): void {
    const n = (this.#summary.refused[p.problem] ?? 0) + 1;
    this.#summary.refused[p.problem] = n;
    // The first of each kind is told; the rest are counted (in the summary at exit).
    if (n === 1) this.#o.log('warn', `refused a message from ${this.#o.subject}: ${p.message} (further problems of this kind are counted, not shown)`);
  }

  /**
   * A whole frame. The first one of a turn of the event loop is written at once; any later one in
   * the same turn (data that piled up in the socket: a backlog) waits for the end of the turn,
   * and a newer one replaces it meanwhile (counted as superseded): a backlog costs one write,
   * not one per frame.
   */
  #deliver(whole: WholeFrame, stored = false): void {
    if (!this.#wroteThisTurn && !this.#writeScheduled) {
      this.#wroteThisTurn = true;
      setImmediate(() => (this.#wroteThisTurn = false));
      this.#writeNow(whole, stored);
      return;
    }
    if (this.#pending) this.#summary.superseded++;
    this.#pending = whole;
    this.#pendingStored = stored;
    if (this.#writeScheduled) return;
    this.#writeScheduled = true;
    setImmediate(() => {
      this.#writeScheduled = false;
      const f = this.#pending;
      this.#pending = null;
      if (f) this.#writeNow(f, this.#pendingStored);
    });
  }

  #writeNow(f: WholeFrame, stored: boolean): void {
    if (this.#failedAlready) return;
    try {
      this.#write(f, stored);
    } catch (e) {
      this.#fatal(e);
    }
  }

  #write(f: WholeFrame, stored: boolean): void {
    const { meta } = f;
    if (this.#mirror && this.#mirrorMeta && !sameShape(this.#mirrorMeta, meta)) {
      const was = this.#mirrorMeta;
      this.#o.log('warn', `the source changed shape (${shapeText(was)} → ${shapeText(meta)}): re-creating ${this.#o.mirror}; readers must open it again`);
      this.#dropMirror();
      this.#summary.recreated++;
    }
    const created = !this.#mirror;
    if (created) this.#createMirror(meta);
    const seg = this.#mirror!;
    seg.writeFrame(this.#elements(f));
    const n = meta.sequence / 2;
    const last = this.#lastMirrored;
    // The frame JetStream kept is up to a few hundred ms older than the live ones: the frames
    // between it and the first live one were published before we subscribed, not missed.
    if (last && !last.stored && last.id === meta.id && n > last.n + 1) this.#summary.missed += n - last.n - 1;
    this.#lastMirrored = { id: meta.id, n, stored };
    this.#summary.mirrored++;
    this.#lastFrameTime = meta.time;
    this.#lastFrameAt = performance.now();
    // A new mirror says at once that it is one.
    this.#writeStatus(created);
  }

  /** The frame as the segment's typed array: a view when its bytes are aligned for the type, else a copy. */
  #elements(f: WholeFrame): TypedArray {
    const { dtype } = f.meta;
    const n = f.data.byteLength / dtype.bytes;
    if (f.data.byteOffset % dtype.bytes === 0) return new dtype.array(f.data.buffer, f.data.byteOffset, n);
    if (!this.#aligned || this.#aligned.length !== n || !(this.#aligned instanceof dtype.array)) this.#aligned = allocFrame(dtype, n);
    new Uint8Array(this.#aligned.buffer, this.#aligned.byteOffset, f.data.byteLength).set(f.data);
    return this.#aligned;
  }

  #createMirror(meta: FrameMeta): void {
    const name = this.#o.mirror;
    let seg: Segment;
    try {
      seg = Segment.create(name, { rows: meta.rows, cols: meta.cols, dtype: meta.dtype.name, ...(meta.fields ? { fields: meta.fields } : {}), mode: this.#o.mode, replace: this.#o.force });
    } catch (e) {
      if (isShmswarmError(e, 'EEXIST'))
        throw new ShmswarmError(`${name} already exists; mirror into another name with --as, or replace it (when its writer is dead) with --force`, 'EEXIST', { segment: name });
      throw e;
    }
    this.#mirror = seg;
    this.#mirrorMeta = meta;
    this.#o.log('info', `mirroring ${meta.host}:${meta.name} (${shapeText(meta)}) into ${name}`);
  }

  /** The mirror's state as `info` shows it. */
  #state(): MirrorState {
    if (!this.#connected) return 'disconnected';
    const now = performance.now();
    const src = this.#source;
    if (now - this.#lastMessageAt > SILENT_AFTER_MS) return this.#mirror ? 'silent' : 'waiting';
    if (src?.state === 'writer-gone' || src?.state === 'stopped') return src.state;
    if (!this.#mirror) return 'waiting';
    return now - this.#lastFrameAt > IDLE_AFTER_MS ? 'idle' : 'live';
  }

  #tick(): void {
    // Someone removed or replaced the mirror's name: writing on would feed an object nobody can
    // open, and the name is no longer ours to re-create or remove.
    const seg = this.#mirror;
    if (seg && seg.nameStatus() !== 'same') {
      const how = seg.nameStatus() === 'gone' ? 'removed' : 'replaced';
      const ino = seg.info().ino;
      seg.close();
      removeMirrorStatus(ino);
      this.#mirror = null;
      this.#fatal(new ShmswarmError(`${this.#o.mirror} was ${how} by another process while mirroring; stopping (start subscribe again to re-create it)`, 'EMIRRORGONE', { segment: this.#o.mirror }));
      return;
    }
    const state = this.#state();
    if (state !== this.#stateShown) this.#writeStatus(true);
    else if (performance.now() - this.#statusWrittenAt >= STATUS_EVERY_MS) this.#writeStatus(true);
  }

  #status(state: MirrorState): MirrorStatus | null {
    const seg = this.#mirror;
    if (!seg) return null;
    const info = seg.info();
    const src = this.#source;
    this.#summary.lost = this.#lostBefore + (src ? lostOf(src) : 0);
    const wall = Date.now() - performance.now();
    return {
      version: 1, mirror: seg.name, ino: info.ino, createdTime: info.createdTime, subscriberPid: process.pid,
      from: this.#o.from, subject: this.#o.subject, source: src ? { name: src.name, host: src.host } : null, state,
      lastFrameTime: this.#lastFrameTime, lastMessageTime: this.#lastMessageAt > 0 ? Math.round(wall + this.#lastMessageAt) : null,
      framesMirrored: this.#summary.mirrored, framesMissed: this.#summary.missed, updatedTime: Date.now(),
    };
  }

  /** Keep the status file current: on a change at once, otherwise about once a second. */
  #writeStatus(force: boolean): void {
    const state = this.#state();
    if (state === 'silent' && this.#stateShown !== 'silent' && this.#mirror) this.#o.log('warn', `source gone: nothing from the publisher on ${this.#o.subject} for ${SILENT_AFTER_MS / 1000} s (the mirror keeps its last frame)`);
    this.#stateShown = state;
    if (!force && performance.now() - this.#statusWrittenAt < STATUS_EVERY_MS) return;
    const s = this.#status(state);
    if (!s) return;
    this.#statusWrittenAt = performance.now();
    try {
      writeMirrorStatus(s, this.#o.mode);
    } catch (e) {
      // Said once: it is retried every second.
      if (!this.#statusFailed) this.#o.log('warn', `cannot write the mirror's status for info/list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); info will not say that ${this.#o.mirror} is a mirror`);
      this.#statusFailed = true;
    }
  }

  #dropMirror(): void {
    const seg = this.#mirror;
    if (!seg) return;
    const ino = seg.info().ino;
    seg.closeAndUnlink();
    removeMirrorStatus(ino);
    this.#mirror = null;
    this.#mirrorMeta = null;
  }

  /** Stop: unsubscribe, drain, then remove the mirror (or, with `keep`, leave it saying so). */
  async close(keep: boolean): Promise<SubscriberSummary> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await closeConnection(this.#nc, this.#connected);
    const src = this.#source;
    this.#summary.lost = this.#lostBefore + (src ? lostOf(src) : 0);
    if (this.#mirror) {
      if (keep) {
        const s = this.#status('unsubscribed');
        if (s) writeMirrorStatus(s, this.#o.mode);
        this.#mirror.close();
        this.#mirror = null;
        this.#summary.mirror = 'kept';
      } else {
        this.#dropMirror();
        this.#summary.mirror = 'removed';
      }
    }
    return this.#summary;
  }

}

/** The part of nats' DirectStreamAPI used here (the type is not exported by nats 2.29). */
interface DirectGet {
  getMessage(stream: string, query: { last_by_subj: string }): Promise<{ header: MsgHdrs; data: Uint8Array }>;
}

function lostOf(src: Source): number {
  return src.base === null ? 0 : Math.max(0, src.highest - src.base - src.received);
}

function decodedStatusOf(m: FrameMeta): StatusMsg {
  return { kind: 'status', id: m.id, frame: m.frame, skipped: m.skipped, name: m.name, host: m.host, state: 'live' };
}

function shapeText(m: Pick<FrameMeta, 'rows' | 'cols' | 'dtype' | 'fields'>): string {
  return `${m.rows}x${m.cols} ${m.dtype.name}${m.fields ? ` [${m.fields.join(',')}]` : ''}`;
}

function ageText(ms: number): string {
  const s = (Date.now() - ms) / 1000;
  return s < 1 ? `${Math.round(s * 1000)} ms ago` : `${s.toFixed(1)} s ago`;
}
