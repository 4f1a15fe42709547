import uPlot from 'uplot';
import { FrameFlag, readFieldsTable, readFrameHeader, type FieldsMessage, type FrameHeader, type StatusMessage } from '../protocol.js';
import { Scatter, type Ranges } from './scatter.js';

// The page of `shmswarm serve`: it draws what the server sends (docs/SERVE.md) and decides
// nothing the server can decide. Frames go to the GPU as they arrive; statistics, rates and
// thinning come from the server.

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

interface Config {
  name: string | null;
  raw: boolean;
  thinAbove: number;
  quantiseAbove: number;
}

/** What tests and the bench read: counters and recent latencies. */
const probe = {
  received: 0,
  /** Bytes of the frame messages received. */
  bytes: 0,
  drawn: 0,
  lastSequence: -1,
  lastFrames: -1,
  /** Frames with the sequence and frame count of the one before: a frame sent twice. */
  repeats: 0,
  /** ms from the writer's publish to this page's receipt, latest first-in. */
  latencies: [] as number[],
  fields: [0, 1, -1] as number[],
  /** The segment fields (x, y, colour) of the picture last drawn, and when the choice was made. */
  fieldsShown: [0, 1, -1] as number[],
  fieldsChosenAt: 0,
  /** ms from a choice of fields in the UI to the first picture drawn with them (the latest). */
  fieldsLatency: [] as number[],
  error: null as string | null,
};
(window as unknown as { __shmswarm: typeof probe }).__shmswarm = probe;

function fmt(n: number | null | undefined, digits = 5): string {
  if (n === null || n === undefined) return '-';
  if (!Number.isFinite(n)) return String(n);
  if (n !== 0 && (Math.abs(n) >= 1e7 || Math.abs(n) < 1e-4)) return n.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return String(Number(n.toPrecision(digits)));
}

function text(el: HTMLElement, s: string, cls = ''): void {
  el.textContent = s;
  el.className = cls;
}

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).trim()}`);
  return (await r.json()) as T;
}

async function showList(): Promise<void> {
  $('list').hidden = false;
  text($('headline'), 'no segment named: the segments on this machine');
  $('received').parentElement!.hidden = true;
  const table = $<HTMLTableElement>('segments');
  const refresh = async () => {
    try {
      const list = await getJson<{ name: string; rows?: number; cols?: number; dtype?: string; frames?: number; writerPid?: number | null; writerAlive?: boolean; kind: string }[]>('list.json');
      table.replaceChildren();
      const head = table.insertRow();
      for (const h of ['NAME', 'SHAPE', 'DTYPE', 'FRAMES', 'WRITER']) head.appendChild(document.createElement('th')).textContent = h;
      for (const s of list) {
        const row = table.insertRow();
        const a = document.createElement('a');
        a.href = `?name=${encodeURIComponent(s.name)}`;
        a.textContent = s.name;
        row.insertCell().appendChild(a);
        row.insertCell().textContent = `${s.rows}x${s.cols}`;
        row.insertCell().textContent = s.dtype ?? '-';
        row.insertCell().textContent = s.kind === 'wa1' || s.frames === undefined ? '-' : String(s.frames);
        const w = row.insertCell();
        if (s.kind === 'wa1') w.textContent = '-';
        else if (s.writerPid == null) w.textContent = 'none';
        else text(w, `${s.writerPid} ${s.writerAlive ? 'alive' : 'dead'}`, s.writerAlive ? 'ok' : 'bad');
      }
      if (list.length === 0) text($('statusline'), 'no shmswarm segments in /dev/shm yet', 'warn');
      else text($('statusline'), '');
    } catch (e) {
      text($('statusline'), String((e as Error).message), 'bad');
    }
  };
  await refresh();
  setInterval(refresh, 2000);
}

/** The pan and zoom over the data's own bounds. */
class View {
  fit: { x: [number, number]; y: [number, number] } | null = null;
  zoom = 1;
  pan: [number, number] = [0, 0];

  reset(): void {
    this.fit = null;
    this.zoom = 1;
    this.pan = [0, 0];
  }

  /** Widen the fitted bounds to include these (the picture does not jump with every frame). */
  include(x: [number, number], y: [number, number]): void {
    const grow = (a: [number, number] | undefined, b: [number, number]): [number, number] =>
      a ? [Math.min(a[0], b[0]), Math.max(a[1], b[1])] : b;
    const pad = (r: [number, number]): [number, number] => (r[1] > r[0] ? r : [r[0] - 1, r[0] + 1]);
    this.fit = { x: pad(grow(this.fit?.x, x)), y: pad(grow(this.fit?.y, y)) };
  }

  ranges(): { x: [number, number]; y: [number, number] } | null {
    if (!this.fit) return null;
    const f = this.fit;
    const axis = (r: [number, number], p: number): [number, number] => {
      const half = (r[1] - r[0]) / 2 / this.zoom;
      const mid = (r[0] + r[1]) / 2 + p;
      return [mid - half, mid + half];
    };
    return { x: axis(f.x, this.pan[0]), y: axis(f.y, this.pan[1]) };
  }
}

function watchSegment(name: string): void {
  $('view').hidden = false;
  text($('name'), name);
  document.title = `shmswarm ${name}`;
  const canvas = $<HTMLCanvasElement>('scatter');
  let scatter: Scatter;
  try {
    scatter = new Scatter(canvas);
  } catch (e) {
    probe.error = (e as Error).message;
    text($('statusline'), probe.error, 'bad');
    return;
  }
  const selects = { x: $<HTMLSelectElement>('xField'), y: $<HTMLSelectElement>('yField'), c: $<HTMLSelectElement>('colorField'), trend: $<HTMLSelectElement>('trendField') };
  const view = new View();
  let status: StatusMessage | null = null;
  let fields: string[] = [];
  let pending: { buf: ArrayBuffer; h: FrameHeader; table: Uint32Array } | null = null;
  let shownTable: Uint32Array | null = null;
  let ws: WebSocket | null = null;
  let lastKey = '';
  let fieldsTimer: number | null = null;
  let fieldsSentAt = 0;
  let shown: FrameHeader | null = null;
  let drawQueued = false;
  const receivedTimes: number[] = [];

  function setOptions(sel: HTMLSelectElement, names: string[], chosen: number, none = false): void {
    sel.replaceChildren();
    if (none) sel.add(new Option('(none)', '-1'));
    names.forEach((f, i) => sel.add(new Option(f, String(i))));
    sel.value = String(chosen);
  }

  function onFields(next: string[]): void {
    const keep = (sel: HTMLSelectElement, fallback: number) => {
      const old = fields[Number(sel.value)];
      const i = old === undefined ? -1 : next.indexOf(old);
      return i >= 0 ? i : fallback;
    };
    const xi = next.indexOf('x'), yi = next.indexOf('y');
    const dx = xi >= 0 && yi >= 0 ? xi : 0;
    const dy = xi >= 0 && yi >= 0 ? yi : Math.min(1, next.length - 1);
    const dc = next.length > 2 ? [...next.keys()].find((i) => i !== dx && i !== dy) ?? -1 : -1;
    const first = fields.length === 0;
    const x = first ? dx : keep(selects.x, dx);
    const y = first ? dy : keep(selects.y, dy);
    const c = first ? dc : keep(selects.c, dc);
    const t = first ? dx : keep(selects.trend, dx);
    fields = next;
    setOptions(selects.x, next, x);
    setOptions(selects.y, next, y);
    setOptions(selects.c, next, c, true);
    setOptions(selects.trend, next, t);
    applyFields();
  }

  /** Tell the server which fields to send (at most ~5 messages a second: it closes a flood). */
  function sendFields(): void {
    if (fieldsTimer !== null) return;
    const wait = Math.max(0, fieldsSentAt + 200 - performance.now());
    fieldsTimer = window.setTimeout(() => {
      fieldsTimer = null;
      if (ws?.readyState !== WebSocket.OPEN) return;
      fieldsSentAt = performance.now();
      const msg: FieldsMessage = { type: 'fields', fields: probe.fields.filter((f) => f >= 0) };
      ws.send(JSON.stringify(msg));
    }, wait);
  }

  /** The columns of a message holding the chosen fields (null when it lacks x or y). */
  function columnsIn(table: Uint32Array): [number, number, number] | null {
    const at = (f: number) => (f < 0 ? -1 : table.indexOf(f));
    const [x, y, c] = probe.fields.map(at);
    return x < 0 || y < 0 ? null : [x, y, c];
  }

  function applyFields(): void {
    probe.fields = [Number(selects.x.value), Number(selects.y.value), Number(selects.c.value)];
    probe.fieldsChosenAt = performance.now();
    sendFields();
    view.reset();
    fitFromStats();
    queueDraw();
  }
  for (const s of [selects.x, selects.y, selects.c]) s.addEventListener('change', applyFields);
  selects.trend.addEventListener('change', () => {
    series.length = 0;
    replot();
  });
  $('fit').addEventListener('click', () => {
    view.reset();
    fitFromStats();
    queueDraw();
  });
  canvas.addEventListener('dblclick', () => $('fit').click());

  function statRange(i: number): [number, number] | null {
    const s = status?.stats?.[i];
    return s && s.min !== null && s.max !== null ? [s.min, s.max] : null;
  }

  function fitFromStats(): void {
    const x = statRange(probe.fields[0]), y = statRange(probe.fields[1]);
    if (x && y) view.include(x, y);
  }

  // Pan and zoom.
  let drag: { x: number; y: number; pan: [number, number] } | null = null;
  canvas.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY, pan: [...view.pan] };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    const r = view.ranges();
    if (!drag || !r) return;
    view.pan = [
      drag.pan[0] - ((e.clientX - drag.x) / canvas.clientWidth) * (r.x[1] - r.x[0]),
      drag.pan[1] + ((e.clientY - drag.y) / canvas.clientHeight) * (r.y[1] - r.y[0]),
    ];
    queueDraw();
  });
  canvas.addEventListener('pointerup', () => (drag = null));
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = view.ranges();
    if (!r || !view.fit) return;
    const box = canvas.getBoundingClientRect();
    // Zoom about the point under the cursor.
    const fx = (e.clientX - box.left) / box.width - 0.5, fy = 0.5 - (e.clientY - box.top) / box.height;
    const factor = Math.exp(-e.deltaY * 0.0015);
    const before = [fx * (r.x[1] - r.x[0]), fy * (r.y[1] - r.y[0])];
    view.zoom = Math.min(1e6, Math.max(1e-3, view.zoom * factor));
    view.pan = [view.pan[0] + before[0] * (1 - 1 / factor), view.pan[1] + before[1] * (1 - 1 / factor)];
    queueDraw();
  }, { passive: false });

  function queueDraw(): void {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(draw);
  }

  function draw(): void {
    drawQueued = false;
    if (scatter.busy()) return queueDraw();
    if (pending) {
      const err = scatter.upload(pending.buf, pending.h);
      if (err) text($('statusline'), err, 'bad');
      shown = pending.h;
      shownTable = pending.table;
      pending = null;
    }
    // The frame shown may be from before a change of fields: draw it once the new ones come.
    const cols = shownTable ? columnsIn(shownTable) : null;
    if (!cols || (probe.fields[2] >= 0 && cols[2] < 0)) return;
    scatter.setFields(cols[0], cols[1], cols[2]);
    const r = view.ranges();
    if (!r) {
      fitFromStats();
      if (!view.ranges()) return;
    }
    const rr = view.ranges()!;
    const c = statRange(probe.fields[2]) ?? [0, 1];
    const ranges: Ranges = { x: rr.x, y: rr.y, c };
    const n = shown?.rows ?? 0;
    scatter.draw(ranges, n > 50_000 ? 1 : n > 5_000 ? 2 : 3);
    probe.drawn++;
    if (probe.fields.join() !== probe.fieldsShown.join()) {
      probe.fieldsShown = [...probe.fields];
      if (probe.fieldsChosenAt > 0) probe.fieldsLatency.push(performance.now() - probe.fieldsChosenAt);
    }
    const f = fields;
    text($('ranges'), `${f[probe.fields[0]] ?? '?'} ${fmt(rr.x[0])}…${fmt(rr.x[1])} across, ${f[probe.fields[1]] ?? '?'} ${fmt(rr.y[0])}…${fmt(rr.y[1])} up` +
      (probe.fields[2] >= 0 ? `, colour ${f[probe.fields[2]]} ${fmt(c[0])}…${fmt(c[1])}` : ''));
  }

  function onFrame(buf: ArrayBuffer): void {
    const now = performance.timeOrigin + performance.now();
    const h = readFrameHeader(buf);
    if (typeof h === 'string') {
      probe.error = h;
      text($('statusline'), h, 'bad');
      return;
    }
    probe.received++;
    probe.bytes += buf.byteLength;
    const table = readFieldsTable(buf, h);
    const key = table.join();
    // The same frame again in other fields (after a change of fields) is not a repeat.
    if (h.sequence === probe.lastSequence && h.frames === probe.lastFrames && key === lastKey) probe.repeats++;
    probe.lastSequence = h.sequence;
    probe.lastFrames = h.frames;
    lastKey = key;
    if (Number.isFinite(h.lastWriteTime)) {
      probe.latencies.push(now - h.lastWriteTime);
      if (probe.latencies.length > 2000) probe.latencies.splice(0, 1000);
    }
    receivedTimes.push(now);
    while (receivedTimes.length && now - receivedTimes[0] > 2000) receivedTimes.shift();
    const thin = h.encoding !== 0;
    if (h.flags & FrameFlag.Torn) text($('statusline'), 'torn frame: the writer died while writing it', 'warn');
    if (!thin) text($('thinning'), h.flags & FrameFlag.Converted ? 'values converted to f32 for drawing' : '');
    pending = { buf, h, table };
    queueDraw();
  }

  // The time plot: the writer's rate and the page's, and the chosen field's mean and std.
  const series: [number, number | null, number | null, number | null, number | null][] = [];
  const plotEl = $('timeplot');
  const plot = new uPlot({
    width: Math.max(300, plotEl.clientWidth || 420),
    height: 220,
    scales: { x: { time: true }, rate: { auto: true }, v: { auto: true } },
    series: [
      {},
      { label: 'writer frames/s', scale: 'rate', stroke: '#6cf', width: 1 },
      { label: 'received/s', scale: 'rate', stroke: '#5c5', width: 1 },
      { label: 'mean', scale: 'v', stroke: '#db5', width: 1 },
      { label: 'std', scale: 'v', stroke: '#e66', width: 1 },
    ],
    axes: [
      { stroke: '#888', grid: { stroke: '#2a2a2a' } },
      { scale: 'rate', stroke: '#888', grid: { stroke: '#2a2a2a' } },
      { scale: 'v', side: 1, stroke: '#888', grid: { show: false } },
    ],
    legend: { live: false },
  }, [[], [], [], [], []], plotEl);

  function replot(): void {
    const cols: number[][] = [[], [], [], [], []];
    for (const row of series) row.forEach((v, i) => cols[i].push(v as number));
    plot.setData(cols as uPlot.AlignedData);
  }

  function receivedRate(): number {
    if (receivedTimes.length < 2) return 0;
    const span = receivedTimes[receivedTimes.length - 1] - receivedTimes[0];
    return span > 0 ? ((receivedTimes.length - 1) * 1000) / span : 0;
  }

  function onStatus(s: StatusMessage): void {
    const fieldsChanged = !status || JSON.stringify(s.fields) !== JSON.stringify(status.fields);
    const reshaped = status && (s.rows !== status.rows || s.cols !== status.cols);
    status = s;
    if (s.fields && fieldsChanged) onFields(s.fields);
    if (reshaped) {
      view.reset();
      series.length = 0;
    }
    const head = $('headline');
    head.replaceChildren();
    const part = (t: string, cls = '') => {
      const span = head.appendChild(document.createElement('span'));
      span.textContent = t;
      if (cls) span.className = cls;
      head.append('   ');
      return span;
    };
    if (s.rows !== null) {
      part(`shape ${s.rows} × ${s.cols} ${s.dtype}`);
      part(`frames ${s.frames ?? '-'}`);
      part(`${fmt(s.framesPerSec, 4)} frames/s`);
      part(`${fmt(s.mbPerSec, 4)} MB/s`);
      if (s.writerAlive !== null) part(`writer pid ${s.writerPid ?? '-'} ${s.writerPid === null ? '' : s.writerAlive ? 'alive' : 'not running'}`, s.writerAlive ? 'ok' : 'bad');
      part(`missed ${s.missed} (${s.skipped} skipped while this page was behind)`, s.missed > 0 ? 'warn' : '');
    }
    // Counters go to the page with the status (4×/s), not with every frame: a page update per
    // frame is a compositor frame per frame, which a software GPU pays for.
    $('received').textContent = String(probe.received);
    $('receivedRate').textContent = `(${fmt(receivedRate(), 3)}/s)`;
    const live = s.status === 'live';
    const words: Record<string, string> = {
      waiting: `waiting for ${s.name} to appear`, gone: `${s.name} was removed; waiting for it to come back`,
      error: `cannot read ${s.name}: ${s.message ?? ''}`, 'no-frames': 'no frame published yet', 'writer-dead': `writer pid ${s.writerPid} is not running (showing its last frame)`, live: 'live',
    };
    const line = [words[s.status] ?? s.status, live && s.message ? `(${s.message})` : '', ...s.events].filter(Boolean).join('; ');
    if (!(shown && shown.flags & FrameFlag.Torn)) text($('statusline'), line, live ? 'ok' : 'warn');
    const t = s.thinning;
    if (t && t.encoding === 'u16')
      text($('thinning'), `thinned to stay live: ${t.step > 1 ? `every ${t.step}th agent (${t.agentsSent.toLocaleString('en')} of ${(s.rows ?? 0).toLocaleString('en')}), ` : ''}as 16-bit values (1/65,535 of each field's range), only the fields drawn; ${s.statsStep > 1 ? `statistics over every ${s.statsStep}th agent` : 'statistics are over all agents'}`, 'warn');
    // Statistics.
    const table = $<HTMLTableElement>('stats');
    table.replaceChildren();
    const hr = table.insertRow();
    for (const h of ['field', 'min', 'mean', 'max', 'std']) hr.appendChild(document.createElement('th')).textContent = h;
    for (const f of s.stats ?? []) {
      const r = table.insertRow();
      r.insertCell().textContent = f.field;
      for (const v of [f.min, f.mean, f.max, f.std]) r.insertCell().textContent = fmt(v);
    }
    // Time plot.
    const ti = Number(selects.trend.value);
    const st = s.stats?.[ti];
    series.push([Date.now() / 1000, s.framesPerSec, receivedRate(), st?.mean ?? null, st?.std ?? null]);
    while (series.length && series[series.length - 1][0] - series[0][0] > 60) series.shift();
    replot();
    if (!view.fit) queueDraw();
  }

  const connect = () => {
    const url = new URL(`stream?name=${encodeURIComponent(name)}`, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sock = new WebSocket(url);
    ws = sock;
    sock.binaryType = 'arraybuffer';
    sock.onopen = () => sendFields();
    sock.onmessage = (ev) => {
      if (typeof ev.data === 'string') onStatus(JSON.parse(ev.data) as StatusMessage);
      else onFrame(ev.data as ArrayBuffer);
    };
    sock.onclose = (ev) => {
      text($('statusline'), `disconnected from the server (${ev.code}${ev.reason ? ` ${ev.reason}` : ''}); retrying`, 'bad');
      setTimeout(connect, 1000);
    };
  };
  connect();
  window.addEventListener('resize', queueDraw);
}

async function start(): Promise<void> {
  const config = await getJson<Config>('config.json');
  const name = new URLSearchParams(location.search).get('name') ?? config.name;
  if (name) watchSegment(name);
  else await showList();
}

start().catch((e) => {
  probe.error = String((e as Error).message ?? e);
  text($('statusline'), probe.error, 'bad');
});
