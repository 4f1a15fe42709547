// The forged headers of hostile.test.js, shared with the Julia reader's transliteration test
// (test/bridge/julia-reader.test.js), which judges each one as the C validator does.
import { readFileSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { uniqueName } from '../helpers.js';

/** The bytes of a real segment, made with the API and read back from /dev/shm. */
export function sample(t, options) {
  const name = uniqueName(t, 'sample');
  const seg = Segment.create(name, options);
  seg.writeFrame(Array.from({ length: seg.length }, (_, i) => (seg.dtype.endsWith('64') && seg.dtype[0] !== 'f' ? BigInt(i) : i)));
  const bytes = new Uint8Array(readFileSync('/dev/shm' + name));
  seg.close();
  Segment.unlink(name);
  return bytes;
}

// rows 4 × 'x,y,z' f32: data 64..112, block at 128, field names at 640, 704 bytes in all
export const BLOCK = 128;
export const FIELDS = BLOCK + 512;
export const put = (b, off, width, value) => {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (width === 1) dv.setUint8(off, Number(value));
  else if (width === 2) dv.setUint16(off, Number(value), true);
  else if (width === 4) dv.setUint32(off, Number(BigInt.asUintN(32, BigInt(value))), true);
  else dv.setBigUint64(off, BigInt.asUintN(64, BigInt(value)), true);
  return b;
};
export const I64_MAX = 2n ** 63n - 1n;

// [label, mutate(bytes) -> bytes, expected code or 'wa1' (a readable plain WA-1 object)]
export const CASES = [
  ['empty object', () => new Uint8Array(0), 'EUNINIT'],
  ['10 bytes', (b) => b.slice(0, 10), 'ETRUNCATED'],
  ['63 bytes', (b) => b.slice(0, 63), 'ETRUNCATED'],
  ['header only', (b) => b.slice(0, 64), 'ETRUNCATED'],
  ['cut inside the data', (b) => b.slice(0, 100), 'ETRUNCATED'],
  ['cut inside the block', (b) => b.slice(0, BLOCK + 100), 'ETRUNCATED'],
  ['cut inside the field names', (b) => b.slice(0, FIELDS + 3), 'ETRUNCATED'],
  ['cut before the block magic (a plain WA-1 matrix remains)', (b) => b.slice(0, BLOCK), 'wa1'],
  ['all zero', (b) => new Uint8Array(b.length), 'EUNINIT'],
  ['magic zero, the rest written (mid-creation)', (b) => put(b, 0, 4, 0), 'EUNINIT'],
  ['magic garbage', (b) => put(b, 0, 4, 0xdeadbeef), 'EBADMAGIC'],
  ['magic byte-swapped', (b) => put(b, 0, 4, 0x312d4157), 'EBYTEORDER'],
  ['etype 0', (b) => put(b, 4, 2, 0), 'ECORRUPT'],
  ['etype 11 (ComplexF32)', (b) => put(b, 4, 2, 11), 'ECORRUPT'],
  ['etype 13', (b) => put(b, 4, 2, 13), 'ECORRUPT'],
  ['etype max', (b) => put(b, 4, 2, 0xffff), 'ECORRUPT'],
  ['etype i8 (block disagrees)', (b) => put(b, 4, 2, 1), 'ECORRUPT'],
  ['ndims 0', (b) => put(b, 6, 2, 0), 'ECORRUPT'],
  ['ndims 3 (third dim is 0)', (b) => put(b, 6, 2, 3), 'ECORRUPT'],
  ['ndims max', (b) => put(b, 6, 2, 0xffff), 'ECORRUPT'],
  ['offset 0', (b) => put(b, 8, 8, 0), 'ECORRUPT'],
  ['offset 65', (b) => put(b, 8, 8, 65), 'ECORRUPT'],
  ['offset -1', (b) => put(b, 8, 8, -1), 'ECORRUPT'],
  ['offset max', (b) => put(b, 8, 8, I64_MAX), 'ECORRUPT'],
  ['cols 0', (b) => put(b, 16, 8, 0), 'ECORRUPT'],
  ['cols -1', (b) => put(b, 16, 8, -1), 'ECORRUPT'],
  ['cols max', (b) => put(b, 16, 8, I64_MAX), 'ECORRUPT'],
  ['cols 2^32 (block disagrees or too large)', (b) => put(b, 16, 8, 2n ** 32n), 'ECORRUPT'],
  ['rows max', (b) => put(b, 24, 8, I64_MAX), 'ECORRUPT'],
  ['rows 2^40 / 12 (fits the limit, not the object)', (b) => put(b, 24, 8, 2n ** 40n / 12n), 'ETRUNCATED'],
  ['rows and cols multiply past 2^64', (b) => put(put(b, 16, 8, 2n ** 32n + 1n), 24, 8, 2n ** 32n + 1n), 'ECORRUPT'],
  ['rows 5 (block disagrees)', (b) => put(b, 24, 8, 5), 'ECORRUPT'],
  ['block version 2', (b) => put(b, BLOCK + 8, 4, 2), 'EVERSION'],
  ['block version max', (b) => put(b, BLOCK + 8, 4, 0xffffffff), 'EVERSION'],
  ['block layout (another mutex size)', (b) => put(b, BLOCK + 12, 4, 48 | (64 << 16)), 'ELAYOUT'],
  ['block rows max', (b) => put(b, BLOCK + 16, 8, -1), 'ECORRUPT'],
  ['block cols', (b) => put(b, BLOCK + 24, 4, 0xffffffff), 'ECORRUPT'],
  ['block dtype', (b) => put(b, BLOCK + 28, 2, 10), 'ECORRUPT'],
  ['block data offset', (b) => put(b, BLOCK + 32, 8, -1), 'ECORRUPT'],
  ['block data bytes', (b) => put(b, BLOCK + 40, 8, -1), 'ECORRUPT'],
  ['block offset', (b) => put(b, BLOCK + 48, 8, 0), 'ECORRUPT'],
  ['fields_len max', (b) => put(b, BLOCK + 56, 4, 0xffffffff), 'ECORRUPT'],
  ['fields_len 4 (same padding)', (b) => put(b, BLOCK + 56, 4, 4), 'ECHECKSUM'],
  ['checksum', (b) => put(b, BLOCK + 60, 4, b[BLOCK + 60] ^ 1), 'ECHECKSUM'],
  ['created time', (b) => put(b, BLOCK + 64, 8, 0), 'ECHECKSUM'],
  ['total size max', (b) => put(b, BLOCK + 80, 8, -1), 'ECORRUPT'],
  ['creator pid', (b) => put(b, BLOCK + 88, 4, 1), 'ECHECKSUM'],
  ['mode', (b) => put(b, BLOCK + 92, 4, 0o777), 'ECHECKSUM'],
  ['init state zero', (b) => put(b, BLOCK + 96, 4, 0), 'EUNINIT'],
  ['a field name byte', (b) => put(b, FIELDS, 1, 'q'.charCodeAt(0)), 'ECHECKSUM'],
  ['block magic gone (a plain WA-1 matrix remains)', (b) => put(b, BLOCK, 8, 0), 'wa1'],
];

// Version 2 (slots): rows 4 × 'x,y,z' f32 × 3 slots: D = 48, slots at 64..208, block at 256.
export const D2 = 48;
export const BLOCK2 = 256;
export const CASES2 = [
  ['the good one', (b) => b, 'shmswarm'],
  ['slots 2 (dims[2] says 3)', (b) => put(b, BLOCK2 + 100, 4, 2), 'ECORRUPT'],
  ['slots 0', (b) => put(b, BLOCK2 + 100, 4, 0), 'ECORRUPT'],
  ['slots 1', (b) => put(b, BLOCK2 + 100, 4, 1), 'ECORRUPT'],
  ['slots 17', (b) => put(b, BLOCK2 + 100, 4, 17), 'ECORRUPT'],
  ['slots max', (b) => put(b, BLOCK2 + 100, 4, 0xffffffff), 'ECORRUPT'],
  ['dims[2] 2 (the block would start at 192: a plain WA-1 array)', (b) => put(b, 32, 8, 2), 'wa1'],
  ['dims[2] 0', (b) => put(b, 32, 8, 0), 'ECORRUPT'],
  ['dims[2] max', (b) => put(b, 32, 8, I64_MAX), 'ECORRUPT'],
  ['dims[2] × D overflows 2^64', (b) => put(b, 32, 8, 2n ** 60n), 'ECORRUPT'],
  ['dims[2] 2^40 / 48 (fits the limit, not the object)', (b) => put(b, 32, 8, 2n ** 40n / 48n), 'ETRUNCATED'],
  ['last slot cut short', (b) => b.slice(0, 64 + 3 * D2 - 1), 'ETRUNCATED'],
  ['cut inside the block', (b) => b.slice(0, BLOCK2 + 104), 'ETRUNCATED'],
  ['version 1 with ndims 3', (b) => put(b, BLOCK2 + 8, 4, 1), 'EVERSION'],
  ['version 3', (b) => put(b, BLOCK2 + 8, 4, 3), 'EVERSION'],
  ['ndims 2 (a plain WA-1 matrix: the block is not where ndims 2 puts it)', (b) => put(b, 6, 2, 2), 'wa1'],
  ['block rows = all slots', (b) => put(b, BLOCK2 + 16, 8, 12), 'ECORRUPT'],
  ['block data_bytes = all slots', (b) => put(b, BLOCK2 + 40, 8, 3 * D2), 'ECORRUPT'],
  ['block offset', (b) => put(b, BLOCK2 + 48, 8, 128), 'ECORRUPT'],
  ['total size', (b) => put(b, BLOCK2 + 80, 8, BLOCK2 + 512), 'ECORRUPT'],
  ['created time (checksummed)', (b) => put(b, BLOCK2 + 64, 8, 0), 'ECHECKSUM'],
  ['init state zero', (b) => put(b, BLOCK2 + 96, 4, 0), 'EUNINIT'],
];

