/**
 * Measuring streams through the lab: a UDP sender, a receiver and a relay (the VM stand-in's
 * process), each a small node script run inside a network namespace with `ip netns exec`.
 *
 * The receiver keeps every arrival, so a test can tell losses (missing sequence numbers), gaps
 * (longest silence) and one-way delay, and compare its own `nowUs()` with the arrival times
 * (e.g. "from the start of create to the first packet"). Datagrams and the stdin reader are
 * datagram.ts's, shared with scripts.ts (the `vpm stream` tools).
 *
 * Control: each script reads commands from its stdin, one per line, and answers one JSON
 * line: `stats` (small summary), `report` (everything recorded), `reset` (forget what was
 * recorded), `stop` (final report, then exit). It prints `{"ready":true}` once its socket is
 * bound. Closing stdin (our process dies) ends it too, so no stray process outlives a test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { DATAGRAM_PRELUDE, nowUs } from './datagram';

export { STREAM_MAGIC, STREAM_HEADER_BYTES, nowUs } from './datagram';

// Replies: one JSON line per command; `stop` answers with the final report and exits.
const COMMON =
  DATAGRAM_PRELUDE +
  String.raw`
let onCommand = () => ({});
let onStop = () => ({});
onLine = (line) => {
  if (line === 'stop') { out(onStop()); process.exit(0); }
  else out(onCommand(line));
};
`;

const RECEIVER = String.raw`
const cfg = JSON.parse(process.argv[1]);
const dgram = require('dgram');
let seqs = [], arrivals = [], sentAt = [], foreign = 0, bytes = 0, t0 = now();
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m) => {
  const t = now();
  const h = headerOf(m);
  if (h) {
    seqs.push(h.seq); arrivals.push(t); sentAt.push(h.sentUs); bytes += m.length;
  } else foreign++;
});
const stats = () => ({ count: seqs.length, foreign, bytes, firstUs: arrivals[0] ?? null, lastUs: arrivals[arrivals.length - 1] ?? null,
  firstSeq: seqs[0] ?? null, lastSeq: seqs[seqs.length - 1] ?? null, sinceUs: t0 });
const report = () => ({ ...stats(), seqs, arrivals, sentAt });
onCommand = (c) => {
  if (c === 'stats') return stats();
  if (c === 'report') return report();
  if (c === 'reset') { seqs = []; arrivals = []; sentAt = []; foreign = 0; bytes = 0; t0 = now(); return { reset: true }; }
  return { error: 'unknown command ' + c };
};
onStop = report;
s.on('error', (e) => { out({ error: String(e) }); process.exit(1); });
s.bind({ port: cfg.port, address: cfg.address || '0.0.0.0' }, () => out({ ready: true }));
`;

const SENDER = String.raw`
const cfg = JSON.parse(process.argv[1]);
const dgram = require('dgram');
const s = dgram.createSocket('udp4');
let seq = 0, sent = 0, errors = 0, start = 0, firstUs = null, lastUs = null, done = false, timer = null;
const size = Math.max(16, cfg.size || 200);
const stats = () => ({ sent, errors, firstUs, lastUs, nextSeq: seq, done });
function tick() {
  if (done) return;
  const due = Math.floor((now() - start) / cfg.intervalUs) + 1;
  const limit = cfg.count > 0 ? Math.min(due, cfg.count) : due;
  while (seq < limit) {
    const t = now();
    const buf = numbered(seq, size, t);
    if (firstUs === null) firstUs = t;
    lastUs = t;
    seq++;
    s.send(buf, cfg.port, cfg.ip, (e) => { if (e) errors++; else sent++; });
  }
  if (cfg.count > 0 && seq >= cfg.count) { done = true; setTimeout(() => out({ finished: true, ...stats() }), 20); return; }
  timer = setTimeout(tick, Math.max(0, Math.min(1, cfg.intervalUs / 1000)));
}
onCommand = (c) => {
  if (c === 'stats') return stats();
  if (c === 'start') { if (start === 0) { start = now(); tick(); } return { started: true }; }
  if (c === 'halt') { done = true; clearTimeout(timer); return stats(); }
  return { error: 'unknown command ' + c };
};
onStop = () => { done = true; clearTimeout(timer); return stats(); };
s.on('error', (e) => { out({ error: String(e) }); process.exit(1); });
s.bind({ port: 0, address: cfg.bindIp || '0.0.0.0' }, () => {
  s.setBroadcast(true);
  out({ ready: true });
  if (cfg.startNow !== false) { start = now(); tick(); }
});
`;

const RELAY = String.raw`
const cfg = JSON.parse(process.argv[1]);
const dgram = require('dgram');
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
let relayed = 0, own = 0, errors = 0, firstUs = null, lastUs = null;
s.on('message', (m, rinfo) => {
  // A relay that sends to a broadcast address would hear itself: ignore our own packets.
  if (cfg.selfIp && rinfo.address === cfg.selfIp) { own++; return; }
  const t = now();
  if (firstUs === null) firstUs = t;
  lastUs = t;
  relayed++;
  s.send(m, cfg.toPort, cfg.toIp, (e) => { if (e) errors++; });
});
const stats = () => ({ relayed, own, errors, firstUs, lastUs });
onCommand = (c) => (c === 'stats' ? stats() : { error: 'unknown command ' + c });
onStop = stats;
s.on('error', (e) => { out({ error: String(e) }); process.exit(1); });
s.bind({ port: cfg.port, address: '0.0.0.0' }, () => { s.setBroadcast(true); out({ ready: true }); });
`;

/** The full source of each script (run with `node -e SOURCE CONFIG_JSON`). */
export const MEASURE_SCRIPTS = {
  receiver: COMMON + RECEIVER,
  sender: COMMON + SENDER,
  relay: COMMON + RELAY,
} as const;

/** A node script running in a namespace, driven over its stdin/stdout. */
export class NetnsScript {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private readonly lines: string[] = [];
  private waiters: Array<(line: string) => void> = [];
  private stderr = '';
  private exited: { code: number | null; signal: string | null } | undefined;
  private exitWaiters: Array<() => void> = [];
  /** Lines that arrived unasked (e.g. the sender's `finished`). */
  readonly events: any[] = [];

  constructor(readonly label: string, readonly netns: string, script: string, config: unknown) {
    this.child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buffer += d;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    this.child.stderr.on('data', (d: string) => {
      this.stderr += d;
    });
    // 'close', not 'exit': only then has all of the script's output (its final report) been read.
    this.child.on('close', (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.exitWaiters.splice(0)) w();
      for (const w of this.waiters.splice(0)) w('');
    });
    this.child.on('error', (e) => {
      this.stderr += String(e);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private nextLine(timeoutMs: number): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.exited) return Promise.reject(this.deadError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.label} (${this.netns}): no answer within ${timeoutMs} ms; stderr: ${this.stderr.trim() || '(none)'}`));
      }, timeoutMs);
      const waiter = (line: string) => {
        clearTimeout(timer);
        if (line === '' && this.exited) reject(this.deadError());
        else resolve(line);
      };
      this.waiters.push(waiter);
    });
  }

  private deadError(): Error {
    return new Error(`${this.label} (${this.netns}) exited (${JSON.stringify(this.exited)}); stderr: ${this.stderr.trim() || '(none)'}`);
  }

  /** The next JSON line that is not an event (events are kept in `events`). */
  async read(timeoutMs = 10_000): Promise<any> {
    for (;;) {
      const line = await this.nextLine(timeoutMs);
      let doc: any;
      try {
        doc = JSON.parse(line);
      } catch {
        throw new Error(`${this.label}: unexpected output ${JSON.stringify(line)}; stderr: ${this.stderr.trim()}`);
      }
      if (doc.error) throw new Error(`${this.label} (${this.netns}): ${doc.error}`);
      if (doc.finished) {
        this.events.push(doc);
        continue;
      }
      return doc;
    }
  }

  async ready(timeoutMs = 10_000): Promise<void> {
    const doc = await this.read(timeoutMs);
    if (!doc.ready) throw new Error(`${this.label}: expected ready, got ${JSON.stringify(doc)}`);
  }

  async command(cmd: string, timeoutMs = 10_000): Promise<any> {
    if (this.exited) throw this.deadError();
    this.child.stdin.write(`${cmd}\n`);
    return this.read(timeoutMs);
  }

  /** The final report; the script exits. */
  async stop(timeoutMs = 10_000): Promise<any> {
    if (this.exited) throw this.deadError();
    this.child.stdin.write('stop\n');
    const doc = await this.read(timeoutMs);
    await this.waitExit(timeoutMs);
    return doc;
  }

  waitExit(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        resolve();
      }, timeoutMs);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends the script (its own process only, by pid). */
  kill(): void {
    if (!this.exited) {
      this.child.stdin.end();
      this.child.kill('SIGKILL');
    }
  }

  get alive(): boolean {
    return !this.exited;
  }
}

export interface ReceiverStats {
  count: number;
  foreign: number;
  bytes: number;
  firstUs: number | null;
  lastUs: number | null;
  firstSeq: number | null;
  lastSeq: number | null;
  sinceUs: number;
}

export interface ReceiverReport extends ReceiverStats {
  seqs: number[];
  arrivals: number[];
  sentAt: number[];
}

/** Counts our datagrams on a UDP port inside a namespace. */
export class UdpReceiver extends NetnsScript {
  constructor(netns: string, port: number, label = `receiver:${port}`) {
    super(label, netns, MEASURE_SCRIPTS.receiver, { port });
  }

  static async start(netns: string, port: number, label?: string): Promise<UdpReceiver> {
    const r = new UdpReceiver(netns, port, label);
    await r.ready();
    return r;
  }

  stats(): Promise<ReceiverStats> {
    return this.command('stats');
  }

  report(): Promise<ReceiverReport> {
    return this.command('report', 30_000);
  }

  /** The final report (every datagram's seq, arrival and send time); the script exits. */
  override stop(timeoutMs = 10_000): Promise<ReceiverReport> {
    return super.stop(timeoutMs);
  }

  async reset(): Promise<void> {
    await this.command('reset');
  }

  /** Waits until at least `n` datagrams arrived; returns the stats then (throws on timeout). */
  async waitFor(n: number, timeoutMs: number, pollMs = 5): Promise<ReceiverStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      if (s.count >= n) return s;
      if (Date.now() > deadline) throw new Error(`${this.label} in ${this.netns}: ${s.count} datagrams after ${timeoutMs} ms, expected >= ${n}`);
      await sleep(pollMs);
    }
  }

  /** Waits until no datagram arrived for `quietMs`; returns the stats then. */
  async waitQuiet(quietMs: number, timeoutMs: number): Promise<ReceiverStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      const idleUs = s.lastUs === null ? nowUs() - s.sinceUs : nowUs() - s.lastUs;
      if (idleUs >= quietMs * 1000) return s;
      if (Date.now() > deadline) throw new Error(`${this.label} in ${this.netns}: still receiving after ${timeoutMs} ms`);
      await sleep(Math.min(20, quietMs / 4));
    }
  }
}

export interface SenderOptions {
  /** Destination (e.g. the overlay broadcast address). */
  ip: string;
  port: number;
  /** Datagrams to send; 0 = until stop()/halt. */
  count: number;
  /** Pace: one datagram every intervalUs (default 1000 = 1 per ms). */
  intervalUs?: number;
  /** Datagram size (>= 16; default 200). */
  size?: number;
  /** Source address to bind. */
  bindIp?: string;
  /** Start sending once bound (default); false waits for start(). */
  startNow?: boolean;
}

export interface SenderStats {
  sent: number;
  errors: number;
  firstUs: number | null;
  lastUs: number | null;
  nextSeq: number;
  done: boolean;
}

/** Sends numbered datagrams at a steady pace from inside a namespace. */
export class UdpSender extends NetnsScript {
  constructor(netns: string, readonly options: SenderOptions, label = `sender->${options.ip}:${options.port}`) {
    super(label, netns, MEASURE_SCRIPTS.sender, { intervalUs: 1000, size: 200, ...options });
  }

  static async start(netns: string, options: SenderOptions, label?: string): Promise<UdpSender> {
    const s = new UdpSender(netns, options, label);
    await s.ready();
    return s;
  }

  async begin(): Promise<void> {
    await this.command('start');
  }

  stats(): Promise<SenderStats> {
    return this.command('stats');
  }

  /** Stops sending (the process stays, for stats). */
  halt(): Promise<SenderStats> {
    return this.command('halt');
  }

  /** Waits until a counted stream has been sent entirely. */
  async finished(timeoutMs: number): Promise<SenderStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      if (s.done && s.sent + s.errors >= s.nextSeq) return s;
      if (Date.now() > deadline) throw new Error(`${this.label}: not finished after ${timeoutMs} ms (${JSON.stringify(s)})`);
      await sleep(20);
    }
  }
}

export interface RelayStats {
  relayed: number;
  own: number;
  errors: number;
  firstUs: number | null;
  lastUs: number | null;
}

/** Receives a UDP stream and sends every datagram on, unchanged (the VM stand-in's job). */
export class UdpRelay extends NetnsScript {
  constructor(netns: string, cfg: { port: number; toIp: string; toPort: number; selfIp?: string }, label = `relay:${cfg.port}->${cfg.toIp}`) {
    super(label, netns, MEASURE_SCRIPTS.relay, cfg);
  }

  static async start(netns: string, cfg: { port: number; toIp: string; toPort: number; selfIp?: string }): Promise<UdpRelay> {
    const r = new UdpRelay(netns, cfg);
    await r.ready();
    return r;
  }

  stats(): Promise<RelayStats> {
    return this.command('stats');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What a receiver's record says about a stream of sequence numbers [from, to]. */
export interface StreamAnalysis {
  /** Distinct sequence numbers received within [from, to]. */
  received: number;
  expected: number;
  /** Sequence numbers in [from, to] never received. */
  lost: number[];
  duplicates: number;
  /** Out-of-order arrivals (a seq lower than one already seen). */
  reordered: number;
  /** Longest time between two consecutive arrivals, ms. */
  maxGapMs: number;
  /** One-way delay (arrival - send time), ms. */
  delayMs: { min: number; median: number; max: number } | null;
}

/** The longest run of consecutive sequence numbers in a sorted list of lost ones. */
export function longestRun(lost: readonly number[]): number {
  let best = 0;
  let run = 0;
  lost.forEach((s, i) => {
    run = i > 0 && s === lost[i - 1] + 1 ? run + 1 : 1;
    best = Math.max(best, run);
  });
  return best;
}

export function analyse(r: ReceiverReport, from = 0, to?: number): StreamAnalysis {
  const last = to ?? (r.seqs.length ? Math.max(...r.seqs) : -1);
  const seen = new Set<number>();
  let duplicates = 0;
  let reordered = 0;
  let highest = -1;
  let maxGapUs = 0;
  const delays: number[] = [];
  for (let i = 0; i < r.seqs.length; i++) {
    const s = r.seqs[i];
    if (i > 0) maxGapUs = Math.max(maxGapUs, r.arrivals[i] - r.arrivals[i - 1]);
    if (s < highest) reordered++;
    highest = Math.max(highest, s);
    if (s < from || s > last) continue;
    if (seen.has(s)) duplicates++;
    seen.add(s);
    delays.push(r.arrivals[i] - r.sentAt[i]);
  }
  const lost: number[] = [];
  for (let s = from; s <= last; s++) if (!seen.has(s)) lost.push(s);
  delays.sort((a, b) => a - b);
  return {
    received: seen.size,
    expected: Math.max(0, last - from + 1),
    lost,
    duplicates,
    reordered,
    maxGapMs: maxGapUs / 1000,
    delayMs: delays.length ? { min: delays[0] / 1000, median: delays[Math.floor(delays.length / 2)] / 1000, max: delays[delays.length - 1] / 1000 } : null,
  };
}

/** Ends every script still running (each by its own pid). */
export function killAll(scripts: ReadonlyArray<NetnsScript | undefined>): void {
  for (const s of scripts) s?.kill();
}
