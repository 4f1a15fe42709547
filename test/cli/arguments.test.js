// Arguments as typed: bytes that are not UTF-8 are refused before anything runs (Node would hand
// the CLI another name, with U+FFFD in it), and whatever an argument holds, an error stays one
// line on stderr (control characters shown escaped, never obeyed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Segment } from '../../dist/core/index.js';
import { BIN, runCli, uniqueName } from '../helpers.js';

/** The CLI with raw bytes in its arguments: printf turns \ooo into the byte, through a shell. */
function runWithBytes(script) {
  return spawnSync('sh', ['-c', `exec "${process.execPath}" "${BIN}" ${script}`], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

test('a name that is not UTF-8 is refused (exit 2), not turned into the name with U+FFFD', (t) => {
  // The segment that Node's decoding would have named instead: it must survive.
  const stem = uniqueName(t, 'utf8');
  const lookalike = `${stem}\ufffd`;
  Segment.create(lookalike, { rows: 1, cols: 1 }).close();
  t.after(() => Segment.unlink(lookalike, { force: true }));
  for (const cmd of ['unlink', 'unlink --force', 'info', 'dump', 'create --agents 1 --cols 1 --force']) {
    const [verb, ...rest] = cmd.split(' ');
    const r = runWithBytes(`${verb} "$(printf '${stem}\\376')" ${rest.join(' ')}`);
    assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `shmswarm: argument 2 ("${lookalike}") is not valid UTF-8 (shown with U+FFFD where its bytes were not text); shmswarm takes names and values as UTF-8 text\n`, cmd);
    assert.ok(existsSync('/dev/shm' + lookalike), `${cmd} touched ${lookalike}`);
  }
  assert.equal(Segment.open(lookalike, { readonly: true }).info().cols, 1);
});

test('control characters typed into an argument are shown escaped: every error is one line', (t) => {
  const name = uniqueName(t);
  Segment.create(name, { rows: 2, fields: 'x,y' }).close();
  for (const [args, shown] of [
    [['dump', name, '--fields', 'x\ny'], 'unknown field "x\\x0ay"'],
    [['create', uniqueName(t, 'ctl'), '--agents', '2', '--fields', 'a\u001b[31mb'], 'field name "a\\x1b[31mb"'],
    [['check', name, '--dtype', '\n'], "argument '\\x0a' is invalid"],
    [['dump', name, '--bogus\u0007'], "unknown option '--bogus\\x07'"],
  ]) {
    const r = runCli(args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, `not one line: ${JSON.stringify(r.stderr)}`);
    assert.ok(r.stderr.startsWith('shmswarm: ') && r.stderr.includes(shown), JSON.stringify(r.stderr));
    assert.doesNotMatch(r.stderr.slice(0, -1), /[\u0000-\u001f]/, 'a raw control character reached the terminal');
  }
});

test("commander's suggestion joins its error's one line", () => {
  const r = runCli(['creat']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "shmswarm: unknown command 'creat' (Did you mean create?) (see --help)\n");
});

test('every --mode in --help shows its default in octal, as it is typed (600), not as a decimal number (384)', () => {
  for (const cmd of ['create', 'simulate', 'replay', 'subscribe']) {
    const r = runCli([cmd, '--help']);
    assert.equal(r.status, 0);
    assert.doesNotMatch(r.stdout, /384/, `${cmd} --help`);
    assert.match(r.stdout, /--mode <octal>[\s\S]*?600/, `${cmd} --help`);
  }
});
