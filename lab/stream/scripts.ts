/**
 * The numbered-stream sender and receiver: small Node scripts run with `node -e` inside a
 * lab namespace (a process cannot enter a network namespace itself). They speak JSON lines
 * (see agent.ts): commands on stdin, one reply per command, `progress` lines unasked. The
 * datagrams and the stdin reader are datagram.ts's, shared with measure.ts.
 */
import { DATAGRAM_PRELUDE } from './datagram';

export { STREAM_MAGIC, STREAM_HEADER_BYTES } from './datagram';

const COMMON = String.raw`
'use strict';
const cfg = JSON.parse(process.argv[1]);
` + DATAGRAM_PRELUDE + String.raw`
let onCommand = () => ({ type: 'error', message: 'no commands' });
onLine = (line) => onCommand(line.split(' '));
`;

/**
 * Receiver. cfg: {port, progressMs, gapLogMs}. Commands: `stats [expected]`, `stop [expected]`
 * (final stats, then exit), `range FROM TO` (unique sequence numbers in FROM..TO-1).
 * `expected` = datagrams the sender sent (sequence numbers 0..expected-1): lost counts those
 * from the first one received (firstSeq) to expected-1 never received; without it, the holes
 * between the lowest and highest sequence number seen. Nothing received: lost = expected.
 * The longest gap is the longest time between two arrivals of *new* sequence numbers
 * (duplicates do not fill a gap: they bring nothing new to the viewer).
 */
export const RECEIVER_SCRIPT =
  COMMON +
  String.raw`
const dgram = require('dgram');
let seen = new Uint8Array(1 << 16);
let received = 0, unique = 0, duplicates = 0, foreign = 0, bytes = 0, reordered = 0;
let minSeq = -1, maxSeq = -1, firstUs = 0, lastUs = 0, lastNewUs = 0;
let maxGapUs = 0, maxGapAfterSeq = -1, maxGapAtUs = 0;
const gaps = [];
const t0 = now();
let intervalCount = 0, intervalMaxGapUs = 0;
function mark(seq) {
  if (seq >= seen.length) {
    let n = seen.length;
    while (n <= seq) n *= 2;
    const bigger = new Uint8Array(n);
    bigger.set(seen);
    seen = bigger;
  }
  if (seen[seq]) return false;
  seen[seq] = 1;
  return true;
}
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m) => {
  const t = now();
  const h = headerOf(m);
  if (!h) { foreign++; return; }
  const seq = h.seq;
  received++; bytes += m.length; intervalCount++;
  if (!firstUs) firstUs = t;
  lastUs = t;
  if (seq > 64 * 1024 * 1024) { foreign++; return; }
  if (!mark(seq)) { duplicates++; return; }
  unique++;
  if (maxSeq >= 0 && seq < maxSeq) reordered++;
  if (lastNewUs) {
    const gap = t - lastNewUs;
    if (gap > maxGapUs) { maxGapUs = gap; maxGapAfterSeq = maxSeq; maxGapAtUs = t; }
    if (gap > intervalMaxGapUs) intervalMaxGapUs = gap;
    if (gap >= cfg.gapLogMs * 1000 && gaps.length < 200) gaps.push({ atMs: Math.round((t - t0) / 1000), ms: gap / 1000, beforeSeq: seq });
  }
  lastNewUs = t;
  if (minSeq < 0 || seq < minSeq) minSeq = seq;
  if (seq > maxSeq) maxSeq = seq;
});
function countIn(from, to) {
  let n = 0;
  const end = Math.min(to, seen.length);
  for (let i = from; i < end; i++) n += seen[i];
  return n;
}
function stats(expected) {
  const exp = Number.isInteger(expected) && expected >= 0 ? expected : undefined;
  // Counted from the first datagram received: a stream that starts before its path (or the
  // VM's relay) is ready is not charged for the datagrams sent before (see firstSeq).
  const lost = minSeq < 0 ? (exp ?? 0) : exp !== undefined ? Math.max(0, exp - minSeq - countIn(minSeq, exp)) : maxSeq - minSeq + 1 - unique;
  return {
    received, unique, duplicates, lost, reordered, foreign, bytes,
    ...(exp !== undefined ? { expected: exp } : {}),
    firstSeq: minSeq < 0 ? null : minSeq, lastSeq: maxSeq < 0 ? null : maxSeq,
    maxGapMs: Math.round(maxGapUs) / 1000, maxGapAfterSeq: maxGapAfterSeq < 0 ? null : maxGapAfterSeq,
    maxGapAtMs: maxGapAtUs ? Math.round((maxGapAtUs - t0) / 1000) : null,
    gaps,
    elapsedMs: Math.round((now() - t0) / 1000),
    firstArrivalMs: firstUs ? Math.round((firstUs - t0) / 1000) : null,
    lastArrivalMs: lastUs ? Math.round((lastUs - t0) / 1000) : null,
    idleMs: Math.round((now() - (lastUs || t0)) / 1000),
  };
}
onCommand = ([cmd, arg, arg2]) => {
  const expected = arg === undefined ? undefined : Number(arg);
  if (cmd === 'stats') out({ type: 'stats', ...stats(expected) });
  else if (cmd === 'range') {
    const from = Math.max(0, Number(arg) | 0), to = Math.max(from, Number(arg2) | 0);
    out({ type: 'range', from, to, unique: countIn(from, to) });
  }
  else if (cmd === 'stop') { out({ type: 'final', ...stats(expected) }); s.close(); process.exit(0); }
  else out({ type: 'error', message: 'unknown command ' + cmd });
};
if (cfg.progressMs > 0) {
  setInterval(() => {
    const st = stats();
    out({ type: 'progress', elapsedMs: st.elapsedMs, received, unique, lost: st.lost, duplicates, maxGapMs: st.maxGapMs,
      intervalPackets: intervalCount, intervalMaxGapMs: Math.round(intervalMaxGapUs) / 1000 });
    intervalCount = 0; intervalMaxGapUs = 0;
  }, cfg.progressMs);
}
s.on('error', (e) => { out({ type: 'error', message: String(e.message || e) }); process.exit(1); });
s.bind({ port: cfg.port, address: '0.0.0.0' }, () => {
  try { s.setRecvBufferSize(4 * 1024 * 1024); } catch (e) { /* the kernel's limit */ }
  out({ type: 'ready' });
});
`;

/**
 * Sender. cfg: {ip, port, rate (datagrams/s), count (0 = until stopped), size, bindIp,
 * progressMs}. Paced by the clock (it catches up after a stall, so `rate` holds on average).
 * Commands: `stats`, `stop` (final stats, then exit). When `count` datagrams are sent it
 * prints a `final` line and exits by itself.
 */
export const SENDER_SCRIPT =
  COMMON +
  String.raw`
const dgram = require('dgram');
const s = dgram.createSocket('udp4');
const size = Math.max(16, cfg.size | 0);
const intervalUs = 1e6 / cfg.rate;
let seq = 0, sent = 0, errors = 0, start = 0, timer = null, finished = false;
const stats = () => ({ sent, errors, queued: seq - sent - errors, nextSeq: seq, elapsedMs: start ? Math.round((now() - start) / 1000) : 0 });
function finish(type) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  // Wait until every send() completed (so 'sent' counts them all), at most 1 s.
  const t = now();
  const done = () => {
    if (sent + errors >= seq || now() - t > 1e6) { out({ type, ...stats() }); s.close(); process.exit(0); }
    else setTimeout(done, 5);
  };
  done();
}
function tick() {
  const due = Math.floor((now() - start) / intervalUs) + 1;
  const limit = cfg.count > 0 ? Math.min(due, cfg.count) : due;
  while (seq < limit) {
    const buf = numbered(seq, size, now());
    seq++;
    s.send(buf, cfg.port, cfg.ip, (e) => { if (e) errors++; else sent++; });
  }
  if (cfg.count > 0 && seq >= cfg.count) return finish('final');
  timer = setTimeout(tick, Math.max(1, Math.min(50, Math.floor(intervalUs / 1000))));
}
onCommand = ([cmd]) => {
  if (cmd === 'stats') out({ type: 'stats', ...stats() });
  else if (cmd === 'stop') finish('final');
  else out({ type: 'error', message: 'unknown command ' + cmd });
};
s.on('error', (e) => { out({ type: 'error', message: String(e.message || e) }); process.exit(1); });
s.bind({ port: 0, address: cfg.bindIp || '0.0.0.0' }, () => {
  s.setBroadcast(true);
  try { s.setSendBufferSize(4 * 1024 * 1024); } catch (e) { /* the kernel's limit */ }
  out({ type: 'ready' });
  start = now();
  if (cfg.progressMs > 0) setInterval(() => out({ type: 'progress', ...stats() }), cfg.progressMs);
  tick();
});
`;
