// A mirror's status: where its frames come from and how the source is doing, for `info` and
// `list` to show. The segment format has no room for it (its header is immutable and
// checksummed), so a subscriber keeps it beside the segment, in a small JSON file
// /dev/shm/.shmswarm-mirror-<inode of the mirror>: it lives and dies with the host's shared
// memory like the segment, and the inode (checked with the name and creation time inside)
// ties it to that very object, not to a later one of the same name. No NATS code here: `info`
// loads this module.
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

const DIR = '/dev/shm';
/** Status files are named this, then the mirror segment's inode. `list` leaves them out. */
export const MIRROR_STATUS_PREFIX = '.shmswarm-mirror-';
const MAX_STATUS_BYTES = 64 * 1024;

/**
 * What the subscriber last knew. `state`: waiting (no frame yet), live (frames arriving),
 * idle (the publisher is there, its writer publishes nothing), writer-gone (the publisher says
 * the source segment's writer is not running), stopped (the publisher stopped), silent (nothing
 * from the publisher for a while), disconnected (no connection to the server), unsubscribed
 * (the subscriber stopped and kept the mirror).
 */
export type MirrorState = 'waiting' | 'live' | 'idle' | 'writer-gone' | 'stopped' | 'silent' | 'disconnected' | 'unsubscribed';

export interface MirrorStatus {
  version: 1;
  mirror: string;
  ino: number;
  createdTime: number | null;
  subscriberPid: number;
  /** The server, without credentials. */
  from: string;
  subject: string;
  source: { name: string; host: string } | null;
  state: MirrorState;
  /** When the source's writer published the latest mirrored frame (ms since the epoch). */
  lastFrameTime: number | null;
  /** When the last message from the publisher arrived. */
  lastMessageTime: number | null;
  /** Frames written into the mirror. */
  framesMirrored: number;
  /** Source frames that never reached the mirror: skipped by the publisher, lost on the way, or superseded here. */
  framesMissed: number;
  updatedTime: number;
}

function pathOf(ino: number): string {
  return `${DIR}/${MIRROR_STATUS_PREFIX}${ino}`;
}

/** Whether a /dev/shm name (with its slash) is a mirror's status file. */
export function isMirrorStatusName(name: string): boolean {
  return name.startsWith('/' + MIRROR_STATUS_PREFIX);
}

/** Replace the status whole (write beside, then rename): a reader never sees half of it. */
export function writeMirrorStatus(status: MirrorStatus, mode: number): void {
  const path = pathOf(status.ino);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    // /dev/shm is writable by everyone: never write through a name someone else left there
    // (O_EXCL does not follow a symbolic link); a stale one of ours is removed first.
    rmSync(tmp, { force: true });
    writeFileSync(tmp, JSON.stringify(status) + '\n', { mode, flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function removeMirrorStatus(ino: number): void {
  rmSync(pathOf(ino), { force: true });
}

/**
 * The status of the segment `seg` if it is a mirror, else null. The file is read as untrusted:
 * owned by the segment's owner, bounded, parsed, and used only if it names this very segment.
 */
export function readMirrorStatus(seg: { name: string; ino: number; uid: number; createdTime?: number | null }): MirrorStatus | null {
  let text: string;
  try {
    // Only a status written by the segment's owner: anyone can put a file in /dev/shm.
    if (statSync(pathOf(seg.ino)).uid !== seg.uid) return null;
    const buf = readFileSync(pathOf(seg.ino));
    if (buf.byteLength > MAX_STATUS_BYTES) return null;
    text = buf.toString('utf8');
  } catch {
    return null;
  }
  try {
    const s = JSON.parse(text) as MirrorStatus;
    if (s === null || typeof s !== 'object' || s.version !== 1 || s.mirror !== seg.name || s.ino !== seg.ino) return null;
    if (seg.createdTime !== undefined && s.createdTime !== seg.createdTime) return null;
    return s;
  } catch {
    return null;
  }
}

/** readMirrorStatus for the object the name points at now (as `list` sees it). */
export function readMirrorStatusOf(name: string): MirrorStatus | null {
  try {
    const st = statSync(DIR + name);
    return readMirrorStatus({ name, ino: st.ino, uid: st.uid });
  } catch {
    return null;
  }
}

/**
 * For `unlink`: looked up before the name goes (afterwards the inode is unknown), the returned
 * function removes the status of the mirror `name` names now, if it is one.
 */
export function forgetMirrorStatus(name: string): () => void {
  const s = readMirrorStatusOf(name);
  return s ? () => removeMirrorStatus(s.ino) : () => {};
}

/**
 * One phrase for people: the state as the subscriber left it, unless the subscriber itself is
 * gone (`subscriberAlive`: the segment's writer is the subscriber's pid and alive).
 */
export function describeMirrorState(s: MirrorStatus, subscriberAlive: boolean): string {
  const from = s.source ? `${s.source.host}:${s.source.name}` : 'the source';
  if (s.state === 'unsubscribed') return `not updated: the subscriber stopped and kept the mirror (${from})`;
  if (!subscriberAlive && s.state !== 'waiting') return `not updated: the subscriber (pid ${s.subscriberPid}) is not running`;
  switch (s.state) {
    case 'waiting':
      return 'waiting for the first frame';
    case 'live':
      return `live from ${from}`;
    case 'idle':
      return `${from} publishes no new frames (its publisher is running)`;
    case 'writer-gone':
      return `source gone: the writer of ${from} is not running`;
    case 'stopped':
      return `source gone: the publisher of ${from} stopped`;
    case 'silent':
      return `source gone: nothing from the publisher of ${from} since ${s.lastMessageTime === null ? 'the start' : new Date(s.lastMessageTime).toISOString()}`;
    case 'disconnected':
      return `disconnected from ${s.from}; reconnecting`;
  }
}

/** A few words for `list`'s writer column. */
export function mirrorShort(s: MirrorStatus, subscriberAlive: boolean): string {
  if (s.state === 'unsubscribed' || (!subscriberAlive && s.state !== 'waiting')) return 'mirror, not updated';
  switch (s.state) {
    case 'live':
    case 'waiting':
      return 'mirror';
    case 'idle':
      return 'mirror, idle';
    case 'disconnected':
      return 'mirror, disconnected';
    default:
      return 'mirror, source gone';
  }
}

/** Whether the mirror's writer is its subscriber, still running. */
export function subscriberAlive(s: MirrorStatus, writer: { writerPid: number | null; writerAlive: boolean }): boolean {
  return writer.writerAlive && writer.writerPid === s.subscriberPid;
}
