// The page of `shmswarm serve` in a real browser (Chromium, WebGL on SwiftShader), against the
// three kinds of writer: `shmswarm simulate`, the C++ producer (include/shmswarm.h) and the seed's
// raw two-object layout. Pixels are read back from the canvas; fields are changed through the UI.
// A screenshot is kept as an artifact (SHMSWARM_ARTIFACTS, default <tmp>/shmswarm-artifacts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnCli, uniqueName, waitForLine } from '../helpers.js';
import { buildExamples } from '../bridge/build.js';
import { launchChromium, needChromium, startServe } from './serve.js';

const ARTIFACTS = process.env.SHMSWARM_ARTIFACTS ?? join(tmpdir(), 'shmswarm-artifacts');

/** The page's probe (window.__shmswarm): counters the page keeps. */
const probe = (page) => page.evaluate(() => ({ ...window.__shmswarm, latencies: window.__shmswarm.latencies.length }));

/** Pixels of the scatter canvas, read back: how many are lit, and how many are the one-colour cyan. */
const pixels = (page) =>
  page.evaluate(() => {
    const src = document.getElementById('scatter');
    const c = document.createElement('canvas');
    c.width = src.width;
    c.height = src.height;
    const g = c.getContext('2d');
    g.drawImage(src, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let lit = 0, cyan = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] + d[i + 1] + d[i + 2] > 60) lit++;
      // (0.45, 0.85, 1.0) blended over black at alpha 0.85.
      if (Math.abs(d[i] - 98) < 20 && Math.abs(d[i + 1] - 184) < 25 && d[i + 2] > 190) cyan++;
    }
    return { lit, cyan, total: d.length / 4 };
  });

/** A page on `url` that fails the test on any page error and on any request that leaves the server. */
async function openPage(t, browser, url) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(new URL(url).origin) && !r.url().startsWith('data:')) problems.push(`request outside the server: ${r.url()}`);
  });
  t.after(() => assert.deepEqual(problems, []));
  await page.goto(url);
  return { page, problems };
}

async function until(page, pred, arg, timeout = 20_000) {
  await page.waitForFunction(pred, arg, { timeout, polling: 50 });
}

test('the page against simulate: agents drawn, counter advancing, fields and colour changed through the UI, nothing fetched from elsewhere', async (t) => {
  if (!needChromium(t)) return;
  const name = uniqueName(t, 'page-sim');
  const sim = spawnCli(['simulate', name, '--agents', '3000', '--rate', '30', '--duration', '60']);
  t.after(() => sim.kill('SIGTERM'));
  const browser = await launchChromium(t);
  const server = await startServe(t, [name]);
  const { page, problems } = await openPage(t, browser, server.url);
  await until(page, () => window.__shmswarm.received >= 3 && window.__shmswarm.drawn >= 1);
  await page.waitForSelector('#stats tr:nth-child(5)');
  assert.equal(await page.textContent('#name'), name);
  assert.match(await page.textContent('#headline'), /shape 3000 × 4 f32/);
  const first = await pixels(page);
  assert.ok(first.lit > 300, `the canvas shows agents (${first.lit} lit pixels of ${first.total})`);

  // The counter on the page advances with the writer.
  const n1 = Number(await page.textContent('#received'));
  await until(page, (n) => Number(document.getElementById('received').textContent) > n + 3, n1);

  // Plot the velocities instead of the positions, through the selects.
  await page.selectOption('#xField', { label: 'vx' });
  await page.selectOption('#yField', { label: 'vy' });
  await until(page, () => /^vx .* across, vy /.test(document.getElementById('ranges').textContent));
  const p = await probe(page);
  assert.deepEqual(p.fields.slice(0, 2), [2, 3]);
  const ranges = await page.textContent('#ranges');
  const m = /^vx (\S+)…(\S+) across, vy (\S+)…(\S+) up/.exec(ranges);
  assert.ok(m, ranges);
  // boids' speeds are at most 0.1 (src/core/simulate): the view was fitted to velocities, not positions.
  for (const v of m.slice(1)) assert.ok(Math.abs(Number(v)) < 1, `a velocity bound: ${ranges}`);
  await until(page, (d) => window.__shmswarm.drawn > d, p.drawn);
  assert.ok((await pixels(page)).lit > 300, 'the velocity plot shows agents');

  // Colour by nothing: every point takes the one colour (cyan); by a field, a colour map.
  const coloured = await pixels(page);
  await page.selectOption('#colorField', { label: '(none)' });
  await until(page, () => window.__shmswarm.fields[2] === -1);
  const d0 = (await probe(page)).drawn;
  await until(page, (d) => window.__shmswarm.drawn > d + 1, d0);
  const plain = await pixels(page);
  assert.ok(plain.cyan > 0.8 * plain.lit, `one colour without a colour field (${plain.cyan} of ${plain.lit})`);
  assert.ok(coloured.cyan < 0.5 * coloured.lit, `a colour map with a colour field (${coloured.cyan} of ${coloured.lit})`);

  // Back to positions for the screenshot, coloured by vx.
  await page.selectOption('#xField', { label: 'x' });
  await page.selectOption('#yField', { label: 'y' });
  await page.selectOption('#colorField', { label: 'vx' });
  const d1 = (await probe(page)).drawn;
  await until(page, (d) => window.__shmswarm.drawn > d + 2, d1);

  // Zoom in with the wheel over the plot: the x range narrows; double-click fits it again.
  const width = async () => {
    const [, a, b] = /^x (\S+)…(\S+) across/.exec(await page.textContent('#ranges'));
    return Number(b) - Number(a);
  };
  const wide = await width();
  const box = await page.locator('#scatter').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -400);
  await until(page, (w) => { const m = /^x (\S+)…(\S+) across/.exec(document.getElementById('ranges').textContent); return m && Number(m[2]) - Number(m[1]) < w / 1.5; }, wide);
  await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
  await until(page, (w) => { const m = /^x (\S+)…(\S+) across/.exec(document.getElementById('ranges').textContent); return m && Number(m[2]) - Number(m[1]) > w / 1.5; }, wide);
  assert.ok((await width()) > wide / 1.5);
  const final = await probe(page);
  assert.equal(final.repeats, 0, 'no frame arrived twice');
  assert.equal(final.error, null);
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = join(ARTIFACTS, 'serve-page.png');
  await page.screenshot({ path: shot });
  t.diagnostic(`screenshot: ${shot}; ${final.received} frames received, ${problems.length} problems`);
});

test('the page against the C++ producer (include/shmswarm.h)', async (t) => {
  if (!needChromium(t)) return;
  const name = uniqueName(t, 'page-c');
  const { producer } = buildExamples();
  const child = spawn(producer, [name, '--agents', '2000', '--fps', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /^ready /);
  const browser = await launchChromium(t);
  const server = await startServe(t, [name]);
  const { page } = await openPage(t, browser, server.url);
  await until(page, () => window.__shmswarm.received >= 5 && window.__shmswarm.drawn >= 2);
  assert.match(await page.textContent('#headline'), /shape 2000 × 6 f32/);
  assert.equal(await page.inputValue('#xField'), '0');
  assert.ok((await pixels(page)).lit > 200, 'the canvas shows the flock');
  assert.equal((await probe(page)).repeats, 0);
});

test('the page against a raw segment (the seed writer\'s bare matrix and mutex)', async (t) => {
  if (!needChromium(t)) return;
  const data = uniqueName(t, 'position_data');
  const mutex = uniqueName(t, 'mutex_lock');
  const { seed_writer } = buildExamples();
  const child = spawn(seed_writer, [data, mutex, '--agents', '300', '--between-us', '30000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  await waitForLine(child, /^ready /);
  const browser = await launchChromium(t);
  const server = await startServe(t, [data, '--raw', '--shape', '300x3', '--mutex', mutex]);
  const { page } = await openPage(t, browser, server.url);
  await until(page, () => window.__shmswarm.received >= 3 && window.__shmswarm.drawn >= 2);
  assert.match(await page.textContent('#headline'), /shape 300 × 3 f32/);
  assert.ok((await pixels(page)).lit > 50, 'the canvas shows the matrix');
  assert.equal((await probe(page)).repeats, 0);
});

test('without a name the page lists the segments and links to each', async (t) => {
  if (!needChromium(t)) return;
  const name = uniqueName(t, 'page-list');
  const sim = spawnCli(['simulate', name, '--agents', '500', '--rate', '20', '--duration', '60']);
  t.after(() => sim.kill('SIGTERM'));
  const browser = await launchChromium(t);
  const server = await startServe(t, []);
  const { page } = await openPage(t, browser, server.url);
  const link = page.locator('#segments a', { hasText: name });
  await link.waitFor({ timeout: 15_000 });
  await link.click();
  await until(page, () => window.__shmswarm.received >= 2);
  assert.equal(await page.textContent('#name'), name);
  assert.equal(new URL(page.url()).searchParams.get('name'), name);
});
