// examples/julia/shmswarm_reader.jl without Julia (it cannot be installed on our machines):
// 1. every .jl file and every ```julia block of the docs parses (tree-sitter's Julia grammar);
// 2. its byte logic, transliterated line by line in examples/julia/julia_reader_transliteration.js
//    (constants read from the .jl itself), judges segments made by the CLI and the library, the
//    forged headers of test/core/hostile.test.js and a seeded fuzz exactly as the C validator
//    does, never loads a byte past the object's size, and reads the frames (torn ones flagged)
//    the library reads;
// 3. the two files do not drift: function by function, the sequence of constants, element types,
//    error codes, helpers, operators and integer literals they use must be the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { Segment, ShmswarmError as CoreError } from '../../dist/core/index.js';
import { ROOT, dieMidFrame, runCli, uniqueName } from '../helpers.js';
import { juliaParserMissing, juliaSyntaxErrors, juliaTree } from './julia-syntax.js';
import { CASES, CASES2, sample } from '../core/hostile-cases.js';
import { mulberry32 } from '../../dist/core/simulate/prng.js';
import * as JR from '../../examples/julia/julia_reader_transliteration.js';

const JL = readFileSync(JR.JL_PATH, 'utf8');
const TS = readFileSync(join(ROOT, 'examples', 'julia', 'julia_reader_transliteration.js'), 'utf8');
const DTYPES = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'f32', 'f64'];
const bigDtype = (d) => d.endsWith('64') && d[0] !== 'f';

// ---- 1. syntax ----

test('every .jl file and every ```julia block of the docs parses', (t) => {
  const missing = juliaParserMissing();
  if (missing) return t.skip(missing);
  const files = execFileSync('git', ['ls-files', '*.jl', '*.md'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  let checked = 0;
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const blocks = f.endsWith('.jl') ? [text] : [...text.matchAll(/^```julia\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    for (const b of blocks) {
      assert.deepEqual(juliaSyntaxErrors(b), [], `${f} does not parse:\n${b}`);
      checked++;
    }
  }
  assert.ok(files.includes('examples/julia/shmswarm_reader.jl') && checked >= 3, `${checked} pieces of Julia checked`);
  // The check can fail: the reader without one `end`.
  assert.notDeepEqual(juliaSyntaxErrors(JL.replace(/\n    end\nend\n/, '\nend\n')), []);
});

// ---- 3. the transliteration follows the .jl ----

const HELPERS = ['ld', 'ld_acquire', 'fnv1a', 'roundup', 'div', 'fail', 'check_size', 'is_torn', 'iseven', 'typemax', 'copyto', 'time_ns', 'sleep'];
const TYPES = ['Int8', 'UInt8', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Int64', 'UInt64'];
const CODES = ['EUNINIT', 'ETRUNCATED', 'EBYTEORDER', 'EBADMAGIC', 'ECORRUPT', 'EVERSION', 'ELAYOUT', 'ECHECKSUM', 'ENOFRAME', 'EBUS'];
const COMPARED = ['roundup', 'fnv1a', 'validate', 'check_size', 'is_torn', 'read_frame!', 'frames'];
const jsName = (n) => n.replace(/!$/, '_bang');
// Operators, in one spelling for both languages (Julia ÷ is JS / on BigInt, ⊻ is ^).
const OPERATORS = {
  '<': '<', '>': '>', '<=': '<=', '>=': '>=', '≤': '<=', '≥': '>=', '==': '==', '===': '==', '!=': '!=', '!==': '!=', '≠': '!=',
  '+': '+', '-': '-', '*': '*', '/': '/', '÷': '/', '%': '%', '>>': '>>', '<<': '<<', '&': '&', '|': '|', '⊻': '^', '^': '^',
  '!': '!', '&&': '&&', '||': '||', '+=': '+=', '-=': '-=', '*=': '*=',
};
const CHAINED = new Set(['<', '>', '<=', '>=', '≤', '≥']);

/** Per function of the .jl (first definition of each name), the identifiers of `vocab` it uses, in order; strings and comments left out. */
function juliaTraces(text, vocab) {
  const out = {};
  const root = juliaTree(text).rootNode;
  const mod = root.descendantsOfType('module_definition')[0] ?? root;
  const nameOf = (n) => {
    const sig = n.type === 'function_definition' ? n.namedChildren.find((c) => c.type === 'signature')?.namedChildren[0] : n.namedChildren[0];
    let call = sig;
    while (call && call.type !== 'call_expression') call = call.namedChildren[0];
    return call?.namedChildren[0]?.text;
  };
  const collect = (n, acc) => {
    if (['string_literal', 'line_comment', 'block_comment', 'comment', 'for_binding'].includes(n.type)) return acc;
    if (n.childCount === 0 && n.type === 'identifier') {
      const id = n.text.replace(/!$/, '');
      if (vocab.has(id)) acc.push(id);
    } else if (n.childCount === 0 && Object.hasOwn(OPERATORS, n.text) && n.type !== 'identifier') {
      // Julia's chained comparison a ≤ b ≤ c is JS's a <= b && b <= c.
      const left = n.parent?.type === 'binary_expression' ? n.parent.namedChildren[0] : null;
      if (CHAINED.has(n.text) && left?.type === 'binary_expression' && left.children.some((c) => c.childCount === 0 && CHAINED.has(c.text))) acc.push('&&');
      acc.push(OPERATORS[n.text]);
    } else if (n.type === 'integer_literal') {
      acc.push(BigInt(n.text).toString());
    }
    for (const c of n.children) collect(c, acc);
    return acc;
  };
  for (const n of mod.descendantsOfType(['function_definition', 'assignment'])) {
    if (n.type === 'assignment' && (n.parent !== mod && n.parent?.type !== 'block') ) continue;
    if (n.type === 'assignment' && n.namedChildren[0]?.type !== 'call_expression' && n.namedChildren[0]?.type !== 'where_expression') continue;
    const name = nameOf(n);
    if (!name || out[name]) continue;
    const body = n.type === 'function_definition' ? n.namedChildren.filter((c) => c.type !== 'signature') : n.namedChildren.slice(1);
    out[name] = body.flatMap((b) => collect(b, []));
  }
  return out;
}

/** The same for the transliteration: `function name(...) { ... }` bodies, strings and comments removed. */
function jsTraces(text, vocab) {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/`(?:\\.|[^`\\])*`|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g, ' ');
  // Loop headers (JS spells `for i in 1:n` with comparisons) are not compared.
  const bare = code.replace(/\bfor \([^)]*\)/g, 'for ');
  const out = {};
  for (const m of bare.matchAll(/function (\w+)\s*\(/g)) {
    // The body starts at the first `{` after the parameter list's closing parenthesis.
    let depth = 0;
    let j = m.index + m[0].length - 1;
    for (; j < bare.length; j++) {
      if (bare[j] === '(') depth++;
      else if (bare[j] === ')' && --depth === 0) break;
    }
    const i = bare.indexOf('{', j);
    depth = 0;
    let k = i;
    for (; k < bare.length; k++) {
      if (bare[k] === '{') depth++;
      else if (bare[k] === '}' && --depth === 0) break;
    }
    const tokens = bare.slice(i, k).matchAll(/[A-Za-z_]\w*|0x[0-9A-Fa-f]+n?|\d+(?:\.\d*)?(?:e\d+)?n?|>>>?|<<|===|!==|==|!=|<=|>=|=>|\+=|-=|\*=|&&|\|\||[<>+\-*/%&|^!]/g);
    out[m[1]] = [...tokens].flatMap(([x]) => {
      if (/^\d|^0x/.test(x)) return /[.e]/.test(x.replace(/^0x.*/, '')) ? [] : [BigInt(x.replace(/n$/, '')).toString()];
      if (Object.hasOwn(OPERATORS, x)) return [OPERATORS[x]];
      return vocab.has(x) ? [x] : [];
    });
  }
  return out;
}

function vocabulary(text) {
  return new Set([...Object.keys(JR.loadConstants(text)), ...HELPERS, ...TYPES, ...CODES]);
}

/** The functions whose traces differ between a .jl text and a transliteration text: [] when in step. */
function drift(jlText, jsText) {
  const vocab = vocabulary(jlText);
  const a = juliaTraces(jlText, vocab);
  const b = jsTraces(jsText, vocab);
  return COMPARED.filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[jsName(f)])).map((f) => `${f}:\n  .jl ${JSON.stringify(a[f])}\n  .js ${JSON.stringify(b[jsName(f)])}`);
}

test('the transliteration uses the .jl constants and, function by function, the same loads, checks, codes, operators and literals in the same order', (t) => {
  const missing = juliaParserMissing();
  if (missing) return t.skip(missing);
  const K = JR.loadConstants();
  for (const name of ['WA1_MAGIC', 'WA1_MAX_NDIMS', 'OFF_DIMS', 'BLOCK_MAGIC', 'BLOCK_FIXED', 'MAX_DATA', 'READY', 'TORN', 'B_SEQ', 'B_FLAGS', 'B_STATS_SEQ', 'B_SLOTS', 'B_CHECKSUM', 'FNV_BASIS', 'FNV_PRIME'])
    assert.equal(typeof K[name], 'bigint', `${name} read from the .jl`);
  assert.equal(K.ETYPES.length, 10);
  assert.deepEqual([K.B_SEQ, K.B_FLAGS, K.B_STATS_SEQ, K.MAX_DATA], [128n, 220n, 224n, 2n ** 40n]);
  const vocab = vocabulary(JL);
  const traces = juliaTraces(JL, vocab);
  for (const f of COMPARED) assert.ok(traces[f]?.length, `${f} found in the .jl with a trace`);
  assert.ok(traces.validate.filter((x) => CODES.includes(x)).length >= 25, 'validate has its checks');
  assert.deepEqual(drift(JL, TS), []);
  // The comparison can fail: a reader that ignores the TORN flag, a check dropped, a plain load
  // where an acquire one was, an offset swapped — each on one side only.
  const mutants = [
    ['is_torn(blk::Ptr{UInt8}) = ld_acquire(UInt32, blk, B_FLAGS) & TORN != 0', 'is_torn(blk::Ptr{UInt8}) = false'],
    ['            torn = is_torn(blk)\n            copyto!', '            torn = false\n            copyto!'],
    ['    size ≥ total || fail(:ETRUNCATED', '    true || fail(:ETRUNCATED'],
    ['0x20 ≤ b ≤ 0x7e', '0x20 ≤ b'],
    ['≤ 2 * (n + k) - 2', '≤ 2 * (n + k) - 1'],
    ['seg.slots[n % k + 1]', 'seg.slots[n % k]'],
    ['want_off = roundup(OFF_DIMS + 8 * ndims, CACHELINE)', 'want_off = roundup(OFF_DIMS + 8 * ndims, 8)'],
    ['size < boff + 8 ||', 'size < boff ||'],
    ['    size ≥ want_off || fail(:ETRUNCATED, "object of $size bytes is smaller than its header")  # check 7\n', ''],
    ['ld_acquire(UInt32, blk, B_INIT_STATE)', 'ld(UInt32, blk, B_INIT_STATE)'],
    ['ld_acquire(UInt64, blk, B_STATS_SEQ)', 'ld_acquire(UInt64, blk, B_SEQ)'],
  ];
  // Each `.jl N` comment of the transliteration names a line of the .jl that does what the JS line
  // does: the check it names (`# check K` there), or at least one of the same identifiers.
  const jlLines = JL.split('\n');
  let refs = 0;
  for (const line of TS.split('\n')) {
    const m = /\.jl (\d+)(?:-\d+)?(?:, check (\w+))?/.exec(line);
    if (!m) continue;
    const target = jlLines[Number(m[1]) - 1] ?? '';
    if (m[2]) assert.match(target, new RegExp(`# check ${m[2]}\\b`), `${line.trim()} → .jl line ${m[1]}: ${target}`);
    else {
      const ids = (s) => new Set([...s.matchAll(/[A-Za-z_]\w*/g)].map((x) => x[0]).filter((x) => vocab.has(x) || /^[a-z_]{3,}$/.test(x)));
      const here = ids(line.split('//')[0]);
      assert.ok(here.size === 0 || [...ids(target)].some((x) => here.has(x)), `${line.trim()} → .jl line ${m[1]}: ${target}`);
    }
    refs++;
  }
  assert.ok(refs >= 35, `${refs} line references checked`);
  for (const [from, to] of mutants) {
    assert.ok(JL.includes(from), `mutant target present: ${from}`);
    assert.notDeepEqual(drift(JL.replace(from, to), TS), [], `not caught: ${from} → ${to}`);
  }
});

// ---- 2. the byte logic against real segments ----

/** The transliteration's verdict on `bytes`: its layout, or { code }. A load past the size fails the test. */
function jlValidate(bytes, size = bytes.length) {
  try {
    return JR.validate(JR.memory(bytes, size));
  } catch (e) {
    if (!(e instanceof JR.ShmswarmError)) throw e;
    assert.notEqual(e.code, 'OUT_OF_BOUNDS', e.message);
    return { code: e.code };
  }
}

/** The C validator's verdict, in the same shape. */
function cValidate(bytes, size = bytes.length) {
  try {
    return Segment.validateHeader(bytes, size);
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    return { code: e.code };
  }
}

function assertSameVerdict(bytes, why, size = bytes.length) {
  const j = jlValidate(bytes, size);
  const c = cValidate(bytes, size);
  if (c.code || j.code) return assert.equal(j.code, c.code, `${why}: .jl ${j.code ?? j.kind}, C ${c.code ?? c.kind}`);
  assert.deepEqual(
    [j.kind, Number(j.rows), Number(j.cols), DTYPES[['Int8', 'UInt8', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Int64', 'UInt64', 'Float32', 'Float64'].indexOf(j.T)], Number(j.slots), Number(j.data_offset), Number(j.data_bytes), Number(j.block_offset), j.fields.join(',')],
    [c.kind, c.rows, c.cols, DTYPES[c.dtype - 1], c.slots, c.dataOffset, c.dataBytes, c.kind === 'shmswarm' ? c.blockOffset : 0,
      c.kind === 'shmswarm' ? Buffer.from(bytes.subarray(c.fieldsOffset, c.fieldsOffset + c.fieldsLength)).toString('latin1') : ''],
    why,
  );
}

function frameBytes(seg) {
  const f = seg.readFrame();
  return { bytes: new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength), f };
}

test('every dtype, 1-16 slots, named and unnamed fields: validated and read as the library reads them', (t) => {
  let n = 0;
  let byCli = 0;
  for (const [d, dtype] of DTYPES.entries())
    for (const slots of [1, 2, 3, 16])
      for (const fields of [null, 'x,y,vx']) {
        const name = uniqueName(t, 'jl');
        let seg;
        if (slots === [1, 2, 3, 16][d % 4]) {
          // One segment of each dtype made by the CLI (the same C code as the library's create).
          const r = runCli(['create', name, '--agents', '5', ...(fields ? ['--fields', fields] : ['--cols', '3']), '--dtype', dtype, '--slots', String(slots)]);
          assert.equal(r.status, 0, r.stderr);
          seg = Segment.open(name);
          byCli++;
        } else {
          seg = Segment.create(name, { rows: 5, ...(fields ? { fields } : { cols: 3 }), dtype, slots });
        }
        t.after(() => seg.close());
        const frames = slots === 16 ? 19 : slots + 2;
        for (let f = 1; f <= frames; f++) seg.writeFrame(Array.from({ length: 15 }, (_, i) => (bigDtype(dtype) ? BigInt(f * 100 + i) : f * 100 + i)));
        const bytes = readFileSync('/dev/shm' + name);
        assertSameVerdict(bytes, `${dtype} slots ${slots} ${fields}`);
        const js = JR.open_segment(name, bytes);
        assert.deepEqual(js.fields, fields ? fields.split(',') : ['c0', 'c1', 'c2']);
        const r = JR.read_frame(js);
        const { bytes: want, f } = frameBytes(seg);
        assert.deepEqual([r.sequence, r.torn], [BigInt(f.sequence), false]);
        assert.deepEqual(Buffer.from(r.data), Buffer.from(want), `${dtype} slots ${slots}: frame bytes`);
        assert.equal(JR.frames(js), BigInt(frames));
        n++;
      }
  assert.deepEqual([n, byCli], [80, 20]);
});

test('segments the CLI just made (frame 0, the creation\'s zeros), and WA-1 objects of 1, 3 and 7 dims', (t) => {
  for (const args of [['--agents', '3', '--fields', 'x,y'], ['--agents', '2', '--fields', 'a,b,c', '--dtype', 'f64', '--slots', '4'], ['--agents', '1', '--cols', '1', '--dtype', 'u8']]) {
    const name = uniqueName(t, 'jlcli');
    const r = runCli(['create', name, ...args]);
    assert.equal(r.status, 0, r.stderr);
    const bytes = readFileSync('/dev/shm' + name);
    assertSameVerdict(bytes, args.join(' '));
    const js = JR.open_segment(name, bytes);
    assert.deepEqual([JR.read_frame(js).sequence, JR.frames(js)], [0n, 0n], 'the creation\'s zeros: frame 0');
  }
  for (const dims of [[5], [2, 3, 2], [2, 2, 2, 2, 2, 2, 2]]) {
    const name = uniqueName(t, 'jlwa');
    const off = Math.ceil((16 + 8 * dims.length) / 64) * 64;
    const n = dims.reduce((a, b) => a * b, 1);
    const b = Buffer.alloc(off + 4 * n);
    b.writeUInt32LE(0x57412d31, 0);
    b.writeUInt16LE(9, 4);
    b.writeUInt16LE(dims.length, 6);
    b.writeBigInt64LE(BigInt(off), 8);
    dims.forEach((d, i) => b.writeBigInt64LE(BigInt(d), 16 + 8 * i));
    for (let i = 0; i < n; i++) b.writeFloatLE(i + 1, off + 4 * i);
    writeFileSync('/dev/shm' + name, b);
    assertSameVerdict(b, `WA-1 ${dims}`);
    const js = JR.open_segment(name, b);
    assert.deepEqual([js.kind, js.dims.map(Number), Number(js.slots[0])], ['wa1', dims, off]);
    const r = JR.read_frame(js);
    assert.equal(r.sequence, null);
    assert.deepEqual([...new Float32Array(r.data.buffer, r.data.byteOffset, n)].slice(0, 4), [1, 2, 3, 4].slice(0, n));
  }
});

test('the forged headers of the hostile tests, every truncation and a seeded fuzz: the C validator\'s verdict, no load past the size', (t) => {
  const base = sample(t, { rows: 4, fields: 'x,y,z', dtype: 'f32' });
  const base2 = sample(t, { rows: 4, fields: 'x,y,z', dtype: 'f32', slots: 3 });
  for (const [label, mutate] of CASES) assertSameVerdict(mutate(base.slice()), label);
  for (const [label, mutate] of CASES2) assertSameVerdict(mutate(base2.slice()), `v2 ${label}`);
  for (const b of [base, base2]) {
    for (let len = 0; len <= b.length; len++) assertSameVerdict(b.subarray(0, len), `cut to ${len}`);
    // The size fstat reported is the truth even when the bytes go on (an object that shrank).
    for (const size of [0, 63, 64, 100, 200, b.length - 1]) assertSameVerdict(b, `size ${size}`, size);
  }
  const rnd = mulberry32(0x1a11a);
  const bases = [base, base2, sample(t, { rows: 3, cols: 5, dtype: 'f64', slots: 16 }), sample(t, { rows: 1, cols: 1, dtype: 'u8' })];
  for (let i = 0; i < 3000; i++) {
    const b = bases[i % bases.length].slice();
    const flips = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < flips; k++) {
      const at = Math.floor(rnd() * Math.min(b.length, 900));
      b[at] ^= 1 << Math.floor(rnd() * 8);
    }
    assertSameVerdict(b, `fuzz case ${i}`);
  }
});

for (const slots of [1, 3]) {
  test(`a writer that died mid-frame (${slots} slot(s)): no frame or the whole one before it; after the repair, the torn frame flagged torn`, async (t) => {
    const name = uniqueName(t, 'jltorn');
    await dieMidFrame(t, name, slots > 1 ? { slots } : {}, 'new Float32Array(8).fill(7)');
    let js = JR.open_segment(name);
    if (slots === 1) {
      assert.throws(() => JR.read_frame(js, 0.05), { code: 'ENOFRAME' }, 'an odd sequence: no whole frame');
    } else {
      const r = JR.read_frame(js);
      assert.deepEqual([r.sequence, r.torn, new Float32Array(r.data.buffer)[0]], [2n, false, 7], 'frame 1, whole, not torn');
    }
    const seg = Segment.open(name);
    const locked = seg.readFrame({ lock: true });
    assert.ok(locked.recovered && locked.torn, 'the library repairs it and flags it');
    js = JR.open_segment(name);
    const r = JR.read_frame(js);
    assert.deepEqual([r.sequence, r.torn, new Float32Array(r.data.buffer)[0]], [4n, true, -1], 'frame 2, half-written, torn');
    seg.writeFrame(new Float32Array(8).fill(9));
    seg.close();
    const next = JR.read_frame(JR.open_segment(name));
    assert.deepEqual([next.sequence, next.torn], [6n, false], 'the next frame clears it');
  });
}

test('check_size: an object that shrank under the reader is EBUS, not a fault', (t) => {
  const name = uniqueName(t, 'jlshrink');
  const seg = Segment.create(name, { rows: 4, fields: 'x,y' });
  seg.close();
  const js = JR.open_segment(name);
  truncateSync('/dev/shm' + name, 100);
  assert.throws(() => JR.read_frame(js), { code: 'EBUS' });
  assert.throws(() => JR.frames(js), { code: 'EBUS' });
});
