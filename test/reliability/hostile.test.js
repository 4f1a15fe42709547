// Issue 6, item 9: every header byte and field of a real, mapped segment mutated (bit flips, zero,
// all ones, maximum values; the checksum alone; and forged: mutated with the checksum recomputed,
// as a deliberate attacker would). Each must be rejected or read safely, with no read outside the
// object: the object is exactly 4096 bytes, one page, so a read past its end faults (and a fault
// the guard turned into EBUS counts as a failure, since nothing here shrinks the object). The
// mutations run in a child process so a crash is reported rather than taking the runner down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnNode, uniqueName, waitExit } from '../helpers.js';

const CHILD = String.raw`
import { openSync, writeSync, readSync, closeSync } from 'node:fs';
const name = process.argv[1];
const ROWS = 216, COLS = 4;
const seg = Segment.create(name, { rows: ROWS, cols: COLS, fields: 'a,b,c,d' });
seg.writeFrame(new Float32Array(ROWS * COLS).fill(1.5));
const path = '/dev/shm' + name;
const fd = openSync(path, 'r+');
const SIZE = 4096;
const pristine = Buffer.alloc(SIZE);
readSync(fd, pristine, 0, SIZE, 0);
const BOFF = 64 + ROWS * COLS * 4; // 3520: the shmswarm block
const FIELDS = BOFF + 512;
if (seg.info().bytes !== SIZE) throw new Error('layout changed: object is ' + seg.info().bytes + ' bytes');
seg.close();

function fnv(h, buf) { for (const b of buf) h = Math.imul(h ^ b, 16777619) >>> 0; return h; }
// Recompute the checksum like shmswarm__checksum, from whatever the header now says.
function forge(buf) {
  const fieldsLen = buf.readUInt32LE(BOFF + 56);
  if (FIELDS + fieldsLen > SIZE) return false;
  const line0 = Buffer.from(buf.subarray(BOFF, BOFF + 64));
  line0.fill(0, 60, 64);
  let h = 2166136261;
  h = fnv(h, buf.subarray(0, 32));
  h = fnv(h, line0);
  h = fnv(h, buf.subarray(BOFF + 64, BOFF + 96));
  h = fnv(h, buf.subarray(FIELDS, FIELDS + fieldsLen));
  buf.writeUInt32LE(h, BOFF + 60);
  return true;
}
const checksummed = (o) => o < 32 || (o >= BOFF && o < BOFF + 60) || (o >= BOFF + 64 && o < BOFF + 96) || (o >= FIELDS && o < FIELDS + 7);

const stats = { cases: 0, opened: 0, rejected: {}, readErrors: {}, problems: [] };
const frame = new Float32Array(ROWS * COLS);

function attempt(label, buf, mustReject) {
  stats.cases++;
  writeSync(fd, buf, 0, SIZE, 0);
  let s;
  try {
    s = Segment.open(name, { readonly: true, initWaitMs: 0, timeoutMs: 5 });
  } catch (e) {
    if (e.name !== 'ShmswarmError' || e.code === 'EBUS') stats.problems.push(label + ': open threw ' + e.name + ' ' + e.code + ' ' + e.message);
    stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
    return;
  }
  stats.opened++;
  try {
    if (mustReject && s.kind !== 'wa1') stats.problems.push(label + ': accepted a changed checksummed byte');
    s.info();
    for (const opts of [{}, { lock: true }, { lockFree: true }]) {
      try {
        const f = s.readFrame({ ...opts, into: s.kind === 'shmswarm' ? frame : undefined, timeoutMs: 5 });
        if (f && f.data.length !== s.rows * s.cols) stats.problems.push(label + ': frame of ' + f.data.length);
      } catch (e) {
        if (e.name !== 'ShmswarmError' || e.code === 'EBUS') stats.problems.push(label + ': read threw ' + e.name + ' ' + e.code + ' ' + e.message);
        stats.readErrors[e.code] = (stats.readErrors[e.code] ?? 0) + 1;
      }
    }
  } catch (e) {
    stats.problems.push(label + ': ' + e.name + ' ' + (e.code ?? '') + ' ' + e.message);
  } finally {
    s.close();
  }
}

// Every byte of the WA-1 header, the block and the field names.
const offsets = [];
for (let o = 0; o < 64; o++) offsets.push(o);
for (let o = BOFF; o < FIELDS + 64; o++) offsets.push(o);
for (const o of offsets) {
  for (const [how, f] of [['^01', (b) => b ^ 0x01], ['^80', (b) => b ^ 0x80], ['=00', () => 0], ['=ff', () => 0xff]]) {
    const buf = Buffer.from(pristine);
    buf[o] = f(buf[o]);
    if (buf[o] === pristine[o]) continue;
    attempt('byte ' + o + ' ' + how, buf, checksummed(o));
    if (checksummed(o) && forge(buf)) attempt('byte ' + o + ' ' + how + ' forged', buf, false);
  }
}

// Whole fields set to extreme values, plain and with a forged checksum.
const fields = [
  ['wa1.magic', 0, 4], ['wa1.etype', 4, 2], ['wa1.ndims', 6, 2], ['wa1.offset', 8, 8], ['wa1.dims0', 16, 8], ['wa1.dims1', 24, 8],
  ['magic', BOFF, 8], ['version', BOFF + 8, 4], ['layout', BOFF + 12, 4], ['rows', BOFF + 16, 8], ['cols', BOFF + 24, 4],
  ['dtype', BOFF + 28, 2], ['elsize', BOFF + 30, 2], ['data_offset', BOFF + 32, 8], ['data_bytes', BOFF + 40, 8],
  ['block_offset', BOFF + 48, 8], ['fields_len', BOFF + 56, 4], ['checksum', BOFF + 60, 4], ['created_ns', BOFF + 64, 8],
  ['creator_start', BOFF + 72, 8], ['total_size', BOFF + 80, 8], ['creator_pid', BOFF + 88, 4], ['mode', BOFF + 92, 4],
  ['init_state', BOFF + 96, 4], ['seq', BOFF + 128, 8], ['frames', BOFF + 192, 8], ['last_write_ns', BOFF + 200, 8],
  ['writer_start', BOFF + 208, 8], ['writer_pid', BOFF + 216, 4], ['flags', BOFF + 220, 4], ['notify', BOFF + 256, 4],
  ['waiters', BOFF + 260, 4], ['read_request', BOFF + 320, 8], ['gate', BOFF + 328, 4], ['mutex', BOFF + 384, 40],
];
for (const [field, off, len] of fields) {
  const values = [['zero', 0x00], ['max', 0xff]];
  for (const [how, byte] of values) {
    const buf = Buffer.from(pristine);
    buf.fill(byte, off, off + len);
    if (buf.equals(pristine)) continue;
    attempt(field + '=' + how, buf, checksummed(off) && field !== 'checksum');
    if (checksummed(off) && field !== 'checksum' && forge(buf)) attempt(field + '=' + how + ' forged', buf, false);
  }
  if (len >= 4) {
    // The largest signed value: positive, so it passes naive "< 0" checks.
    const buf = Buffer.from(pristine);
    buf.fill(0xff, off, off + len);
    buf[off + len - 1] = 0x7f;
    attempt(field + '=smax', buf, checksummed(off) && field !== 'checksum');
    if (checksummed(off) && field !== 'checksum' && forge(buf)) attempt(field + '=smax forged', buf, false);
  }
}
writeSync(fd, pristine, 0, SIZE, 0);
closeSync(fd);
console.log(JSON.stringify(stats));
`;

test('every header byte and field of a mapped segment mutated: rejected or read safely, never outside the object', async (t) => {
  const name = uniqueName(t, 'hostile');
  const child = spawnNode(CHILD, { args: [name] });
  t.after(() => child.kill('SIGKILL'));
  const r = await waitExit(child, 120_000);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  const stats = JSON.parse(r.stdout.trim().split('\n').pop());
  t.diagnostic(`${stats.cases} mutations, ${stats.opened} opened; rejected: ${JSON.stringify(stats.rejected)}; read errors: ${JSON.stringify(stats.readErrors)}`);
  assert.deepEqual(stats.problems, []);
  assert.ok(stats.cases > 2500, `only ${stats.cases} cases ran`);
  for (const code of ['EBADMAGIC', 'ECHECKSUM', 'ECORRUPT', 'ETRUNCATED', 'EVERSION', 'ELAYOUT', 'EUNINIT'])
    assert.ok(stats.rejected[code] > 0, `no mutation was rejected with ${code}`);
});
