/** The small concurrency and retry helpers: host lock (FIFO), semaphore, connect backoff. */
import { ConnectionError, HostKeyMismatchError, UNREACHABLE_ADVICE } from '../../../providers/exec/errors';
import { hostLockKey, withHostLock } from '../../../providers/exec/pool';
import { backoffDelay, withConnectRetry } from '../../../providers/exec/retry';
import { Semaphore } from '../../../providers/exec/semaphore';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withHostLock', () => {
  it('serialises callers on one host in call order', async () => {
    const log: string[] = [];
    const step = (name: string, ms: number) =>
      withHostLock('hv1', async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([step('a', 30), step('b', 1), step('c', 10)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });

  it('lets different hosts run in parallel', async () => {
    let inside = 0;
    let most = 0;
    const step = (host: string) =>
      withHostLock(host, async () => {
        most = Math.max(most, ++inside);
        await sleep(20);
        inside--;
      });
    await Promise.all([step('h1'), step('h2'), step('h3')]);
    expect(most).toBe(3);
  });

  it('releases the lock when fn throws, and passes the error on', async () => {
    await expect(withHostLock('hv2', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(withHostLock('hv2', () => 'next')).resolves.toBe('next');
  });

  it('shared holders run together; an exclusive one waits for them and they for it, in call order', async () => {
    const log: string[] = [];
    const step = (name: string, ms: number, shared: boolean) =>
      withHostLock(
        'hv3',
        async () => {
          log.push(`${name}+`);
          await sleep(ms);
          log.push(`${name}-`);
        },
        { shared },
      );
    // s1 and s2 overlap; x waits for both; s3 (called after x) waits for x.
    await Promise.all([step('s1', 20, true), step('s2', 5, true), step('x', 5, false), step('s3', 1, true)]);
    expect(log).toEqual(['s1+', 's2+', 's2-', 's1-', 'x+', 'x-', 's3+', 's3-']);
  });

  it('keys specs by host, port and namespace, not by user', () => {
    // Whole connection specs (with key and user), of which the key reads host, port and netns.
    const hostKey = 'SHA256:' + 'A'.repeat(43);
    const asRoot = { host: '10.0.0.1', hostKey, user: 'root' };
    const asOps = { host: '10.0.0.1', hostKey, user: 'ops' };
    const inLab = { host: '10.0.0.1', hostKey, netns: 'lab' };
    expect(hostLockKey(asRoot)).toBe(hostLockKey(asOps));
    expect(hostLockKey(inLab)).toBe('10.0.0.1:22|lab');
  });
});

describe('Semaphore', () => {
  it('admits at most `limit` holders and queues the rest FIFO', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([s.acquire(), s.acquire()]);
    const waiting = [3, 4].map((n) => s.acquire().then((rel) => (order.push(n), rel)));
    await sleep(5);
    expect(order).toEqual([]);
    expect(s.inUse).toBe(2);
    releases[0]();
    releases[0](); // idempotent: must not free a second slot
    await sleep(5);
    expect(order).toEqual([3]);
    releases[1]();
    const [r3, r4] = await Promise.all(waiting);
    expect(order).toEqual([3, 4]);
    r3();
    r4();
    expect(s.inUse).toBe(0);
  });
});

describe('withConnectRetry', () => {
  const fast = { baseMs: 1, capMs: 4 };

  it('backs off 200 ms doubling, capped at 3 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((k) => backoffDelay(k))).toEqual([200, 400, 800, 1600, 3000, 3000, 3000]);
  });

  it('retries until success', async () => {
    let n = 0;
    const r = await withConnectRetry('h', 5, async () => {
      if (++n < 3) throw new Error('refused');
      return 'ok';
    }, () => false, fast);
    expect(r).toBe('ok');
    expect(n).toBe(3);
  });

  it('wraps the last error in ConnectionError after all attempts', async () => {
    let n = 0;
    const err = await withConnectRetry('h', 4, async () => {
      throw new Error(`refused ${++n}`);
    }, () => false, fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ host: 'h', attempts: 4 });
    expect((err as Error).message).toBe(`cannot connect to h after 4 attempt(s): refused 4\n${UNREACHABLE_ADVICE}`);
  });

  it('stops at once on a fatal error and rethrows it unchanged', async () => {
    let n = 0;
    const mismatch = new HostKeyMismatchError('h', 'SHA256:a', 'SHA256:b');
    const err = await withConnectRetry('h', 5, async () => {
      n++;
      throw mismatch;
    }, (e) => e instanceof HostKeyMismatchError, fast).catch((e: unknown) => e);
    expect(err).toBe(mismatch);
    expect(n).toBe(1);
  });
});
