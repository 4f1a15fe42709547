import { closeSync, fstatSync, ftruncateSync, openSync, statSync, writevSync, constants } from 'node:fs';

/**
 * The recording file: bytes handed to `write` are kept until `commit()`, which puts them all in
 * the kernel (one writev loop) before it returns. A frame is committed before the next one is
 * taken, so a recorder killed at any moment loses at most the frame it was writing. A failed
 * write (a full disk) cuts the file back to the end of the last committed frame, so that it
 * stays valid up to there.
 */
export class FileSink {
  readonly path: string;
  #fd: number | null;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Bytes in the file that end on a whole record. */
  #committed = 0;

  /** Creates `path` (O_EXCL unless `overwrite`), mode 0644 less the umask. */
  constructor(path: string, overwrite: boolean) {
    this.path = path;
    // What is there already decides the error, before anything is opened: a directory or a device
    // is not a file to overwrite (--force would not help), and opening a FIFO would block.
    let existing: ReturnType<typeof statSync> | undefined;
    try {
      existing = statSync(path);
    } catch {
      /* nothing there (or unreachable: the open says why) */
    }
    if (existing?.isDirectory()) throw Object.assign(new Error(`EISDIR: ${path} is a directory`), { code: 'EISDIR' });
    if (existing && !existing.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
    const flags = constants.O_WRONLY | constants.O_CREAT | (overwrite ? constants.O_TRUNC : constants.O_EXCL);
    this.#fd = openSync(path, flags, 0o644);
    if (!fstatSync(this.#fd).isFile()) {
      // A FIFO or device cannot be cut back after a failed write, nor read back by info/replay.
      closeSync(this.#fd);
      this.#fd = null;
      throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
    }
  }

  /** Queue bytes for the next commit (not copied: they must not change before it). */
  write(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
  }

  /** The file offset the next queued byte will land at. */
  get position(): number {
    return this.#committed + this.#pendingBytes;
  }

  /** Bytes committed: the file's valid length. */
  get committed(): number {
    return this.#committed;
  }

  /**
   * Everything queued, into the kernel now. On failure the file is cut back to the last commit
   * and the error rethrown.
   */
  commit(): void {
    const fd = this.#live();
    let chunks = this.#pending;
    this.#pending = [];
    const total = this.#pendingBytes;
    let left = total;
    this.#pendingBytes = 0;
    try {
      while (left > 0) {
        // At most IOV_MAX (1024) pieces per call.
        let n = writevSync(fd, chunks.length > 1024 ? chunks.slice(0, 1024) : chunks);
        left -= n;
        if (left === 0) break;
        // A short write (a disk filling up): go on from where it stopped; the next call reports the error.
        let i = 0;
        while (n >= chunks[i].byteLength) n -= chunks[i++].byteLength;
        chunks = chunks.slice(i);
        chunks[0] = chunks[0].subarray(n);
      }
    } catch (e) {
      this.#cutBack();
      throw e;
    }
    this.#committed += total;
  }

  #cutBack(): void {
    try {
      ftruncateSync(this.#fd!, this.#committed);
    } catch {
      /* a reader still stops at the last whole record */
    }
  }

  #live(): number {
    if (this.#fd === null) throw Object.assign(new Error(`${this.path} was closed`), { code: 'ECLOSED' });
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd === null;
  }

  /** Close the descriptor; bytes queued and not committed are dropped. Idempotent. */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    this.#pending = [];
    this.#pendingBytes = 0;
    closeSync(fd);
  }
}
