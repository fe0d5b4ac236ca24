/**
 * SharedReads: a read of a host is served by an earlier read of the same parts through the
 * same connection while nothing else has run there since and it is younger than the window.
 */
import { RecordingRunner } from '../../../providers/exec/recording';
import { forgetProcessMemory } from '../../../providers/exec/process-memory';
import { runnerKey } from '../../../providers/exec/runner';
import { REUSE_WINDOW_MS, SharedReads } from '../../../providers/exec/shared-reads';

/**
 * A host whose answers the test decides: `run` is a read that sends one command through
 * `runner` and returns the number the host answered; `writer` is another handle of the same
 * connection, answering at once.
 */
function controlledHost(identity: string) {
  const pending: Array<{ resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  const runner = new RecordingRunner({
    host: 'h2',
    identity,
    handler: () => new Promise((answer) => pending.push({ resolve: (v) => answer({ stdout: String(v) }), reject: (e) => answer(e) })),
  });
  const run = () => runner.run(['ovs-vsctl', 'list', 'Bridge'], { readOnly: true }).then((r) => Number(r.stdout));
  const writer = new RecordingRunner({ host: 'h2', identity, handler: () => ({}) });
  return { runner, run, pending, writer, started: () => runner.calls.length };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('SharedReads', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('a later read of the same parts is served by the earlier one, running or ended, while nothing else ran there', async () => {
    const reads = new SharedReads<number>({ now: clock });
    const c = controlledHost('root@h2|a');
    const h = c.runner;
    const a = reads.read(h, ['rows'], c.run);
    const b = reads.read(h, ['rows'], c.run); // joins the running read
    await flush();
    c.pending[0].resolve(1);
    expect([await a, await b]).toEqual([1, 1]);
    now += REUSE_WINDOW_MS - 1;
    expect(await reads.read(h, ['rows'], c.run)).toBe(1); // ended, still standing
    expect(c.started()).toBe(1);
    expect(h.calls).toHaveLength(1);
  });

  it('a read of parts the earlier one did not read runs; a read of fewer parts is served', async () => {
    const reads = new SharedReads<number>({ now: clock });
    const c = controlledHost('root@h2|b');
    const h = c.runner;
    const wide = reads.read(h, ['rows', 'switch br1'], c.run);
    await flush();
    c.pending[0].resolve(1);
    await wide;
    expect(await reads.read(h, ['switch br1'], c.run)).toBe(1);
    const other = reads.read(h, ['switch br2'], c.run);
    await flush();
    expect(c.started()).toBe(2);
    c.pending[1].resolve(2);
    expect(await other).toBe(2);
  });

  it('any other command on the connection since the read started (a write by VPM) makes the next read run', async () => {
    const reads = new SharedReads<number>({ now: clock });
    const c = controlledHost('root@h2|c');
    const h = c.runner;
    const a = reads.read(h, ['rows'], c.run);
    await flush();
    c.pending[0].resolve(1);
    await a;
    // Another handle of the same connection writes.
    await c.writer.run(['ovs-vsctl', 'del-port', 'gre-h3']);
    const b = reads.read(h, ['rows'], c.run);
    await flush();
    expect(c.started()).toBe(2);
    c.pending[1].resolve(2);
    expect(await b).toBe(2);
    // A command that starts while a read runs: the read serves no one after it.
    expect(await reads.read(h, ['rows'], c.run)).toBe(2); // nothing ran since b: b stands
    const d = reads.read(h, ['rows', 'switch br1'], c.run);
    await flush();
    const write = c.writer.run(['ovs-ofctl', 'add-flow', 'br1', 'actions=drop']);
    const e = reads.read(h, ['rows'], c.run);
    await flush();
    expect(c.started()).toBe(4);
    c.pending[2].resolve(3);
    c.pending[3].resolve(4);
    await write;
    expect([await d, await e]).toEqual([3, 4]);
  });

  it('reads of other parts running meanwhile do not end a read\'s reuse (they only read)', async () => {
    const reads = new SharedReads<number>({ now: clock });
    const c = controlledHost('root@h2|g');
    const narrow = reads.read(c.runner, ['rows'], c.run);
    const wide = reads.read(c.runner, ['rows', 'switch br1'], c.run); // not covered: runs
    await flush();
    c.pending[0].resolve(1);
    await narrow;
    const joined = reads.read(c.runner, ['switch br1'], c.run); // the wide one still stands
    c.pending[1].resolve(2);
    expect([await wide, await joined]).toEqual([2, 2]);
    expect(c.started()).toBe(2);
  });

  it('a read older than the window is not reused (a change by hand is seen by the next refresh)', async () => {
    const reads = new SharedReads<number>({ now: clock });
    const c = controlledHost('root@h2|d');
    const h = c.runner;
    const a = reads.read(h, ['rows'], c.run);
    await flush();
    c.pending[0].resolve(1);
    await a;
    now += REUSE_WINDOW_MS + 1;
    const b = reads.read(h, ['rows'], c.run);
    await flush();
    expect(c.started()).toBe(2);
    c.pending[1].resolve(2);
    expect(await b).toBe(2);
  });

  it('a failed read serves those who joined it and no one after; other connections and runners without activity never share', async () => {
    const reads = new SharedReads<number>({ now: clock });
    const c = controlledHost('root@h2|e');
    const h = c.runner;
    const a = reads.read(h, ['rows'], c.run);
    const joined = reads.read(h, ['rows'], c.run);
    await flush();
    c.pending[0].reject(new Error('ssh: connection refused'));
    await expect(a).rejects.toThrow('connection refused');
    await expect(joined).rejects.toThrow('connection refused');
    const b = reads.read(h, ['rows'], c.run);
    await flush();
    expect(c.started()).toBe(2);
    c.pending[1].resolve(7);
    expect(await b).toBe(7);

    const o = controlledHost('root@h2|other-key');
    const otherKey = o.runner;
    const x = reads.read(otherKey, ['rows'], o.run);
    await flush();
    expect(o.started()).toBe(1);
    o.pending[0].resolve(9);
    expect(await x).toBe(9);

    let bare = 0;
    const noActivity = { identity: 'root@h2|e' };
    await reads.read(noActivity, ['rows'], async () => ++bare);
    await reads.read(noActivity, ['rows'], async () => ++bare);
    expect(bare).toBe(2);
  });

  it('forgetProcessMemory: the next read runs (a test playing the next operation in one process)', async () => {
    const reads = new SharedReads<number>({ now: clock });
    const c = controlledHost('root@h2|f');
    const a = reads.read(c.runner, ['rows'], c.run);
    await flush();
    c.pending[0].resolve(1);
    await a;
    forgetProcessMemory();
    const b = reads.read(c.runner, ['rows'], c.run);
    await flush();
    expect(c.started()).toBe(2);
    c.pending[1].resolve(2);
    expect(await b).toBe(2);
  });

  it('runnerKey: handles of one pooled connection share a key; other credentials, or bare runners, do not', () => {
    const r1 = {};
    const r2 = {};
    expect(runnerKey(r1)).toBe(runnerKey(r1));
    expect(runnerKey(r1)).not.toBe(runnerKey(r2));
    expect(runnerKey({ identity: 'root@h2|key-a' })).toBe(runnerKey({ identity: 'root@h2|key-a' }));
    expect(runnerKey({ identity: 'root@h2|key-a' })).not.toBe(runnerKey({ identity: 'root@h2|key-b' }));
  });

  it('getRunner: two handles of one connection have one identity and one activity; another key file another', () => {
    const pool = require('../../../providers/exec/pool') as typeof import('../../../providers/exec/pool');
    const spec = (keyPath: string) => ({ host: '192.0.2.7', hostKey: 'SHA256:' + 'A'.repeat(43), privateKeyPath: keyPath });
    const a = pool.getRunner(spec('/nonexistent/a'));
    const b = pool.getRunner(spec('/nonexistent/a'));
    const c = pool.getRunner(spec('/nonexistent/c'));
    expect(a).not.toBe(b);
    expect(runnerKey(a)).toBe(runnerKey(b));
    expect(runnerKey(a)).not.toBe(runnerKey(c));
    expect(typeof a.activity).toBe('function');
  });
});
