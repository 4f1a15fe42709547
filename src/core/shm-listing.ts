// The /dev/shm listing: which names exist, what a name points at now, and a summary of each
// object (a segment, a plain WA-1 array, or someone else's) for `list` and `info`.
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { native } from './binding.js';
import type { DtypeName } from './dtypes.js';
import { ShmswarmError } from './errors.js';
import { checkSegmentName } from './names.js';
import type { SegmentInfo } from './segment.js';

/** Where POSIX shared-memory names live on Linux. */
export const SHM_DIR = '/dev/shm';

export type NameStatus = 'same' | 'replaced' | 'gone';

/** What `name` points at now, against the inode mapped: after shm_unlink a mapping stays valid. */
export function nameStatusOf(name: string, ino: number): NameStatus {
  try {
    return statSync(SHM_DIR + name).ino === ino ? 'same' : 'replaced';
  } catch {
    return 'gone';
  }
}

/** The names of POSIX shared-memory objects (Linux: /dev/shm), semaphores excluded. */
export function shmNames(): string[] {
  let entries: string[];
  try {
    entries = readdirSync(SHM_DIR);
  } catch {
    return [];
  }
  return entries.filter((n) => !n.startsWith('sem.')).sort().map((n) => '/' + n);
}

export interface SegmentSummary {
  name: string;
  /** unreadable: this user may not open it (it may well be a segment; nobody can tell without reading it). */
  kind: 'shmswarm' | 'wa1' | 'foreign' | 'unreadable';
  bytes: number | null;
  rows?: number;
  cols?: number;
  dtype?: DtypeName;
  fields?: string[];
  /** Frame buffers (shmswarm segments). */
  slots?: number;
  frames?: number;
  sequence?: number;
  lastWriteTime?: number | null;
  writerPid?: number | null;
  writerAlive?: boolean;
  /** Why a foreign object is not readable as a segment, or why an unreadable one is not. */
  reason?: string;
  /** Unreadable objects: who owns them and their permission bits. */
  owner?: string;
  uid?: number;
  mode?: number;
  /** A foreign object of the size of a process-shared mutex (the seed's /mutex_lock). */
  looksLike?: 'mutex';
}

let users: Map<number, string> | null = null;

/** A user's name from /etc/passwd, else the uid as text. */
function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id !== undefined && /^\d+$/.test(id)) users.set(Number(id), name);
      }
    } catch {
      /* no passwd file: uids it is */
    }
  }
  return users.get(uid) ?? String(uid);
}

/** The part of an open segment a summary reads. */
export interface Summarizable {
  kind: SegmentSummary['kind'];
  info(): SegmentInfo;
  close(): void;
}

/**
 * Past this many unnamed columns a summary (`list`, `info --json`) leaves their names (c0, c1, …)
 * out: a foreign object of 2^26 columns made every `list` take 30 s and 2.8 GB to name them, and
 * `info --json` run out of memory.
 */
const SUMMARY_UNNAMED_FIELDS_MAX = 4096;

/** The field names a summary of `info` shows: undefined for many unnamed columns (see above). */
export function summaryFields(info: Pick<SegmentInfo, 'fields' | 'fieldsNamed' | 'cols'>): string[] | undefined {
  return info.fieldsNamed || info.cols <= SUMMARY_UNNAMED_FIELDS_MAX ? info.fields : undefined;
}

/** What `open` (Segment.open, read-only) can tell about `name`; a foreign object says why not. */
export function summarize(name: string, open: (name: string) => Summarizable): SegmentSummary {
  let bytes: number | null = null;
  let st: ReturnType<typeof statSync> | null = null;
  try {
    st = statSync(SHM_DIR + name);
    bytes = st.size;
  } catch {
    /* gone meanwhile or not stat-able */
  }
  try {
    checkSegmentName(name);
    const seg = open(name);
    try {
      const i = seg.info();
      return {
        name, kind: seg.kind, bytes: i.bytes, rows: i.rows, cols: i.cols, dtype: i.dtype, slots: i.slots,
        fields: summaryFields(i),
        frames: i.frames, sequence: i.sequence, lastWriteTime: i.lastWriteTime, writerPid: i.writerPid, writerAlive: i.writerAlive,
      };
    } finally {
      seg.close();
    }
  } catch (e) {
    if (st && e instanceof ShmswarmError && (e.code === 'EACCES' || e.code === 'EPERM')) {
      const owner = userName(Number(st.uid));
      const mode = Number(st.mode) & 0o777;
      return { name, kind: 'unreadable', bytes, owner, uid: Number(st.uid), mode, reason: `you may not read it (owner ${owner}, mode ${mode.toString(8).padStart(4, '0')})` };
    }
    // A pthread_mutex_t alone (or rounded up to 64 bytes, as the seed maps it) holds no matrix.
    if (bytes !== null && (bytes === native().mutexSize || bytes === 64) && e instanceof ShmswarmError && e.code !== 'ENOENT')
      return { name, kind: 'foreign', bytes, looksLike: 'mutex', reason: `looks like a process-shared mutex (${bytes} B, ${bytes === 64 ? 'a pthread_mutex_t rounded up to 64 B' : 'the size of a pthread_mutex_t'}); a matrix it guards is read as a RawSegment with mutex ${name}` };
    const reason = e instanceof ShmswarmError ? `${e.code}: ${e.message.replace(`${name}: `, '')}` : (e as Error).message;
    return { name, kind: 'foreign', bytes, reason };
  }
}
