/**
 * The test datagram protocol, in one place: the wire layout of a numbered datagram and the
 * JSON-lines control channel of the scripts that send and receive them. Both script sets
 * (scripts.ts: `vpm stream` and the stack e2e suites; measure.ts: the integration suites and
 * benches that keep every arrival) are built from the snippets here, so they read each
 * other's streams.
 *
 * Datagram layout (big-endian): [seq u32][magic u32 = "VPM1"][sender time, µs, f64] then zero
 * padding to the datagram size. Times are CLOCK_MONOTONIC microseconds (process.hrtime): the
 * same clock in every process and network namespace of one machine, so a test can compare its
 * own nowUs() with a receiver's arrival times.
 *
 * Control: a script reads commands on stdin, one per line, and writes JSON lines on stdout;
 * closing its stdin (its parent died) ends it, so no stray process outlives a run.
 */

/** "VPM1": marks our datagrams; anything else reaching a receiver is counted as foreign. */
export const STREAM_MAGIC = 0x56504d31;
export const STREAM_HEADER_BYTES = 16;

/** CLOCK_MONOTONIC in µs; comparable with the scripts' times. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Script prelude (JavaScript source): `now()`, `out(obj)`, the datagram codec
 * (`numbered(seq, size, t)` builds a datagram sent at t; `headerOf(msg)` is {seq, sentUs} or
 * undefined for a foreign datagram), and the stdin line reader that calls `onLine(line)` with
 * each trimmed non-empty line. The script sets `onLine`.
 */
export const DATAGRAM_PRELUDE = String.raw`
const now = () => Number(process.hrtime.bigint() / 1000n);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const MAGIC = ${STREAM_MAGIC};
const HEADER_BYTES = ${STREAM_HEADER_BYTES};
function numbered(seq, size, t) {
  // A fresh buffer per datagram: send() is asynchronous and does not copy.
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(seq >>> 0, 0);
  buf.writeUInt32BE(MAGIC, 4);
  buf.writeDoubleBE(t, 8);
  return buf;
}
function headerOf(m) {
  if (m.length < HEADER_BYTES || m.readUInt32BE(4) !== MAGIC) return undefined;
  return { seq: m.readUInt32BE(0), sentUs: m.readDoubleBE(8) };
}
let onLine = () => {};
let stdinText = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  stdinText += d;
  for (let i = stdinText.indexOf('\n'); i >= 0; i = stdinText.indexOf('\n')) {
    const line = stdinText.slice(0, i).trim();
    stdinText = stdinText.slice(i + 1);
    if (line) onLine(line);
  }
});
// Our parent went away: nothing would read our answers.
process.stdin.on('end', () => process.exit(0));
`;
