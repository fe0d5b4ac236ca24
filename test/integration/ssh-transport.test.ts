/**
 * The SSH transport against real sshd processes started for this test only:
 *  - one on 127.0.0.1:<free port> in the root namespace,
 *  - one on 127.0.0.1:22 inside the network namespace `vpmtest-ssh`, reachable only through
 *    the `ip netns exec ... socat` proxy (the root namespace has no route to it).
 * Each has its own host key, authorized_keys and pidfile in a temporary directory. Everything
 * is torn down in afterAll, processes by PID. A missing tool fails the suite with the Debian
 * package to install; nothing is skipped.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ts from 'typescript';
import {
  closeAll,
  ConnectionError,
  getRunner,
  HostKeyMismatchError,
  poolSize,
  RemoteCommandError,
  SshRunner,
  ValidationError,
  type ConnectionSpec,
} from '../../providers/exec';

const NETNS = 'vpmtest-ssh';
const REPO = join(__dirname, '..', '..');

const TOOLS: Array<[string, string]> = [
  ['/usr/sbin/sshd', 'openssh-server'],
  ['ssh-keygen', 'openssh-client'],
  ['ssh-agent', 'openssh-client'],
  ['ssh-add', 'openssh-client'],
  ['socat', 'socat'],
  ['ip', 'iproute2'],
];

let dir: string;
let port: number;
let hostPub: string; // the root-namespace sshd's host key line
let hostFingerprint: string;
let nsHostPub: string;
let otherPub: string; // a key no sshd here uses: the "wrong" pin
let otherFingerprint: string;
let clientKeyPath: string;
let strangerKeyPath: string; // a client key not in authorized_keys
const children: ChildProcess[] = [];
let netnsCreated = false;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function requireTools(): void {
  const missing = TOOLS.filter(([tool]) =>
    tool.startsWith('/') ? !existsSync(tool) : spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    throw new Error(
      'the SSH transport tests need ' +
        missing.map(([tool, pkg]) => `${tool} (Debian package ${pkg})`).join(', ') +
        `: install with \`apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}\``,
    );
  }
  if (process.getuid?.() !== 0) throw new Error('the SSH transport tests must run as root (network namespaces, sshd)');
}

function keygen(name: string): { path: string; pub: string; fingerprint: string } {
  const path = join(dir, name);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  const pub = readFileSync(`${path}.pub`, 'utf8').trim();
  const fingerprint = run('ssh-keygen', ['-lf', `${path}.pub`]).split(/\s+/)[1];
  return { path, pub, fingerprint };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function sshdConfig(name: string, listenPort: number, hostKeyPath: string, extra: string[] = []): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    [
      `Port ${listenPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `PidFile ${join(dir, `${name}.pid`)}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      // The temporary directory is under world-writable /tmp.
      'StrictModes no',
      'UsePAM no',
      'LogLevel ERROR',
      // As in the lab (lab/sshd.ts): bash skips ~/.bashrc as a nested shell; on these machines
      // it runs `pyenv init`, ~0.5 s per command, which is not what this suite measures.
      'SetEnv SHLVL=1',
      ...extra,
      '',
    ].join('\n'),
  );
  return file;
}

/** Starts a daemon as our child; keeps its stderr for failure messages. */
function startDaemon(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  children.push(child);
  return { child, log: () => log };
}

async function waitFor(what: string, ok: () => boolean, log: () => string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`${what} did not come up within ${ms} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tcpOpen(p: number, netns?: string): boolean {
  const args = ['-u', '/dev/null', `TCP:127.0.0.1:${p},connect-timeout=1`];
  const r = netns ? spawnSync('ip', ['netns', 'exec', netns, 'socat', ...args]) : spawnSync('socat', args);
  return r.status === 0;
}

/** The spec of the root-namespace sshd; `extra` overrides. */
function spec(extra: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return { host: '127.0.0.1', port, user: 'root', hostKey: hostPub, privateKeyPath: clientKeyPath, connectAttempts: 3, ...extra };
}

function nsSpec(extra: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return { host: '127.0.0.1', port: 22, netns: NETNS, hostKey: nsHostPub, privateKeyPath: clientKeyPath, connectAttempts: 3, ...extra };
}

function removeNetns(): void {
  if (!existsSync(`/run/netns/${NETNS}`)) return;
  // Only processes of our own test namespace (left by an aborted earlier run) are ended.
  const pids = spawnSync('ip', ['netns', 'pids', NETNS], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', NETNS]);
}

beforeAll(async () => {
  requireTools();
  dir = mkdtempSync(join(tmpdir(), 'vpm-ssh-'));
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation directory

  const hostKey = keygen('host_ed25519');
  const nsHostKey = keygen('ns_host_ed25519');
  const other = keygen('other_ed25519');
  const client = keygen('id_ed25519');
  const stranger = keygen('stranger_ed25519');
  hostPub = hostKey.pub;
  hostFingerprint = hostKey.fingerprint;
  nsHostPub = nsHostKey.pub;
  otherPub = other.pub;
  otherFingerprint = other.fingerprint;
  clientKeyPath = client.path;
  strangerKeyPath = stranger.path;
  writeFileSync(join(dir, 'authorized_keys'), client.pub + '\n');

  port = await freePort();
  const main = startDaemon('/usr/sbin/sshd', ['-D', '-e', '-f', sshdConfig('sshd', port, hostKey.path)]);
  await waitFor('sshd on 127.0.0.1', () => tcpOpen(port), main.log);

  removeNetns();
  run('ip', ['netns', 'add', NETNS]);
  netnsCreated = true;
  run('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
  // `ip netns exec` execs sshd, so the child's PID is sshd's PID.
  const ns = startDaemon('ip', ['netns', 'exec', NETNS, '/usr/sbin/sshd', '-D', '-e', '-f', sshdConfig('sshd-ns', 22, nsHostKey.path)]);
  await waitFor(`sshd in netns ${NETNS}`, () => tcpOpen(22, NETNS), ns.log);
}, 60_000);

afterAll(async () => {
  await closeAll();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
      clearTimeout(timer);
    }
  }
  if (netnsCreated) removeNetns();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SshRunner over a real sshd', () => {
  it('runs a command with a hostile argument and gets it back exactly', async () => {
    const r = new SshRunner(spec());
    try {
      const hostile = `$(id) \`id\` ; 'single' "double" | & > < * ~ $HOME ünïcødé ✓\ttab\nnew line -rf`;
      const res = await r.run(['echo', hostile]);
      expect(res).toEqual({ stdout: hostile + '\n', stderr: '', exitCode: 0 });
      const many = ['', ' ', "'", '\\', '\\n', '-rf', '--', '\x01'];
      const printed = await r.run(['printf', '%s\\0', ...many]);
      expect(printed.stdout.split('\0').slice(0, -1)).toEqual(many);
    } finally {
      await r.close();
    }
  });

  it('feeds stdin (small and 2 MB) and returns it through cat', async () => {
    const r = new SshRunner(spec());
    try {
      const text = 'priority=1,actions=drop\nzwei ✓\n';
      expect((await r.run(['cat'], { stdin: text })).stdout).toBe(text);
      const big = 'x'.repeat(1023) + '\n';
      const blob = big.repeat(2048);
      const res = await r.run(['sh', '-c', 'cat | wc -c'], { stdin: blob });
      expect(res.stdout.trim()).toBe(String(blob.length));
      // No stdin given: the command sees EOF instead of hanging.
      expect((await r.run(['cat'], { timeoutMs: 5000 })).stdout).toBe('');
    } finally {
      await r.close();
    }
  });

  it('turns a non-zero exit into RemoteCommandError with code, stderr and stdout', async () => {
    const r = new SshRunner(spec());
    try {
      const err = await r.run(['sh', '-c', 'echo partial; echo "no such bridge" >&2; exit 7']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect(err).toMatchObject({ exitCode: 7, stderr: 'no such bridge\n', stdout: 'partial\n' });
      expect((err as Error).message).toContain('127.0.0.1');
      expect((err as Error).message).toContain('(exit 7)');
      await expect(r.run(['sh', '-c', 'exit 2'], { okExitCodes: [0, 2] })).resolves.toMatchObject({ exitCode: 2 });
    } finally {
      await r.close();
    }
  });

  it('times out a command, kills it on the host, and keeps the connection usable', async () => {
    const r = new SshRunner(spec());
    try {
      await r.run(['true']); // connect first: time only the command
      const marker = '30.4242';
      const started = Date.now();
      // Watch the command come up, so the check that it is gone below cannot pass vacuously.
      let seen = false;
      const watch = setInterval(() => (seen ||= processesHolding(marker).length > 0), 20);
      const err = await r.run(['sleep', marker], { timeoutMs: 500 }).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      clearInterval(watch);
      expect(seen).toBe(true);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as Error).message).toMatch(/timed out after 500 ms/);
      expect((err as RemoteCommandError).exitCode).toBeNull();
      expect(elapsed).toBeLessThan(2000);
      // The host is this machine: the remote `sleep` (30 s) must be gone soon, killed, and so
      // must the shells that start it. sshd's shell may still be starting when the timeout
      // fires (this test's sshd runs root's ~/.bashrc), and the kill goes out on its own
      // channel after the error is thrown, so poll for a bound far below the sleep's 30 s.
      expect(await processesGone(marker, 5000)).toEqual([]);
      expect((await r.run(['echo', 'still here'])).stdout).toBe('still here\n');
    } finally {
      await r.close();
    }
  });

  it('opens a session channel again when sshd refuses it for its MaxSessions, and says so when it never opens', async () => {
    // Below sshd's limit VPM keeps 8 channels open at most; here the host allows 2, and one
    // allows none: a refusal means the command never started, so opening it again is safe.
    const startTight = async (name: string, maxSessions: number) => {
      const p = await freePort();
      const d = startDaemon('/usr/sbin/sshd', ['-D', '-e', '-f', sshdConfig(name, p, join(dir, 'host_ed25519'), [`MaxSessions ${maxSessions}`])]);
      await waitFor(`sshd (MaxSessions ${maxSessions})`, () => tcpOpen(p), d.log);
      return p;
    };
    const tight = new SshRunner(spec({ port: await startTight('sshd-tight', 2) }));
    const none = new SshRunner(spec({ port: await startTight('sshd-none', 0) }));
    try {
      const jobs = Array.from({ length: 12 }, (_, i) => tight.run(['sh', '-c', 'sleep 0.1; echo "$1"', 'sh', `job-${i}`]));
      expect((await Promise.all(jobs)).map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `job-${i}\n`));

      const started = Date.now();
      const err = await none.run(['true'], { timeoutMs: 1500 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as Error).message).toMatch(/refused a session channel \d+ time\(s\) until the deadline .*check MaxSessions in the host/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await tight.close();
      await none.close();
    }
  });

  it('runs 20 concurrent commands on one pooled connection', async () => {
    const a = getRunner(spec());
    const b = getRunner(spec({ hostKey: hostFingerprint })); // same key, other notation: same connection
    expect(poolSize()).toBe(1);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).run(['sh', '-c', 'sleep 0.2; echo "$1"', 'sh', `job-${i}`])),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `job-${i}\n`));
    await a.close(); // a handle's close leaves the shared connection to the others
    expect((await b.run(['echo', 'ok'])).stdout).toBe('ok\n');
    await expect(a.run(['true'])).rejects.toThrow(/handle .* was closed/);
  });

  it('refuses a wrong pinned key with HostKeyMismatchError, at once and without retrying', async () => {
    for (const pin of [otherPub, otherFingerprint]) {
      const r = new SshRunner(spec({ hostKey: pin, connectAttempts: 5 }));
      const started = Date.now();
      const err = await r.run(['true']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyMismatchError);
      const m = err as HostKeyMismatchError;
      expect(m.host).toContain('127.0.0.1');
      expect(m.expected).toBe(otherFingerprint);
      expect(m.actual).toBe(hostFingerprint);
      expect(m.message).toContain(otherFingerprint);
      expect(m.message).toContain(hostFingerprint);
      expect(r.connectAttemptsMade).toBe(1);
      expect(Date.now() - started).toBeLessThan(1500);
      await r.close();
    }
  });

  it('gives ConnectionError on a closed port after the configured attempts, with backoff', async () => {
    const closed = await freePort();
    const r = new SshRunner(spec({ port: closed, connectAttempts: 3, connectTimeoutMs: 2000 }));
    const started = Date.now();
    const err = await r.run(['true']).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ attempts: 3 });
    expect((err as Error).message).toMatch(/after 3 attempt\(s\).*ECONNREFUSED/);
    expect(r.connectAttemptsMade).toBe(3);
    expect(elapsed).toBeGreaterThanOrEqual(600 - 20); // 200 ms + 400 ms of backoff
    expect(elapsed).toBeLessThan(3000);
  });

  it('stops at once when the host refuses the client key', async () => {
    const r = new SshRunner(spec({ privateKeyPath: strangerKeyPath, connectAttempts: 5 }));
    const err = await r.run(['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/authentication as root with the key in .*stranger_ed25519 was refused/);
    expect(r.connectAttemptsMade).toBe(1);
  });

  it('rejects an unreadable or unusable private key at once, without showing it', async () => {
    const missing = new SshRunner(spec({ privateKeyPath: join(dir, 'no-such-key') }));
    const e1 = await missing.run(['true']).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ValidationError);
    expect((e1 as ValidationError).problems).toEqual([
      { property: 'privateKeyPath', reason: expect.stringMatching(/cannot read .*no-such-key.* \(ENOENT\)/) },
    ]);
    expect(missing.connectAttemptsMade).toBe(1);

    const secret = 'SECRETSECRETSECRET';
    const garbage = `-----BEGIN OPENSSH PRIVATE KEY-----\n${secret}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const bad = new SshRunner(spec({ privateKeyPath: undefined, privateKey: garbage }));
    const e2 = await bad.run(['true']).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ValidationError);
    expect((e2 as ValidationError).problems[0].property).toBe('privateKey');
    expect((e2 as Error).message).toMatch(/the private key cannot be used/);
    expect((e2 as Error).message).not.toContain(secret);
    expect(bad.connectAttemptsMade).toBe(1);
  });

  it('authenticates with an inline private key and through ssh-agent', async () => {
    const inline = new SshRunner(spec({ privateKeyPath: undefined, privateKey: readFileSync(clientKeyPath, 'utf8') }));
    expect((await inline.run(['echo', 'inline'])).stdout).toBe('inline\n');
    await inline.close();

    const sock = join(dir, 'agent.sock');
    const agent = startDaemon('ssh-agent', ['-D', '-a', sock]);
    await waitFor('ssh-agent', () => existsSync(sock), agent.log);
    run('sh', ['-c', `SSH_AUTH_SOCK='${sock}' ssh-add -q '${clientKeyPath}'`]);
    const viaAgent = new SshRunner(spec({ privateKeyPath: undefined }), { env: { SSH_AUTH_SOCK: sock } });
    expect((await viaAgent.run(['echo', 'agent'])).stdout).toBe('agent\n');
    await viaAgent.close();

    const noAgent = new SshRunner(spec({ privateKeyPath: undefined }), { env: {} });
    await expect(noAgent.run(['true'])).rejects.toThrow(/SSH_AUTH_SOCK is not set/);
  });

  it('fails the in-flight command when the connection drops, and reconnects for the next one', async () => {
    const r = new SshRunner(spec());
    try {
      await r.run(['true']);
      expect(r.connectAttemptsMade).toBe(1);
      // Kill this connection's sshd session process from inside the command it is running.
      const err = await r.run(['sh', '-c', 'kill -9 $PPID; sleep 5']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as Error).message).toMatch(/connection was lost while the command was running; it was not re-run/);
      expect((await r.run(['echo', 'back'])).stdout).toBe('back\n');
      expect(r.connectAttemptsMade).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('reaches an sshd inside a network namespace through the ip netns exec + socat proxy', async () => {
    // The root namespace's own 127.0.0.1:22 has no sshd: only the proxy can reach this one.
    expect(tcpOpen(22)).toBe(false);
    const r = new SshRunner(nsSpec());
    try {
      const res = await r.run(['ip', 'netns', 'identify']);
      expect(res.stdout.trim()).toBe(NETNS);
      const text = 'through the proxy ✓\n';
      expect((await r.run(['cat'], { stdin: text })).stdout).toBe(text);
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => r.run(['echo', String(i)])));
      expect(all.map((x) => x.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `${i}\n`));
    } finally {
      await r.close();
    }
    // The host key pin applies through the proxy as well.
    const wrong = new SshRunner(nsSpec({ hostKey: hostPub }));
    await expect(wrong.run(['true'])).rejects.toBeInstanceOf(HostKeyMismatchError);
    // No socat proxy may outlive its connection.
    expect(await processesGone(`TCP:127.0.0.1:22,keepalive,nodelay`, 5000)).toEqual([]);
  });

  it('reports why the proxy could not connect (closed port inside the namespace)', async () => {
    const r = new SshRunner(nsSpec({ port: 2222, connectAttempts: 2 }));
    const err = await r.run(['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/after 2 attempt\(s\).*proxy in netns vpmtest-ssh: .*Connection refused/);
  });

  it('keeps a connection for sequential commands (latency of 20 x `true`)', async () => {
    const r = new SshRunner(spec());
    try {
      const t0 = Date.now();
      await r.run(['true']);
      const connectAndFirst = Date.now() - t0;
      const t1 = Date.now();
      for (let i = 0; i < 20; i++) await r.run(['true']);
      const total = Date.now() - t1;
      console.log(
        `SSH latency: first command incl. connect ${connectAndFirst} ms; 20 sequential \`true\` on the kept connection ` +
          `${total} ms total, ${(total / 20).toFixed(1)} ms each`,
      );
      expect(r.connectAttemptsMade).toBe(1);
      expect(total).toBeLessThan(20_000);
    } finally {
      await r.close();
    }
  });

  it('does not keep a node process alive: idle pooled connections are unref\'d and closed at exit', async () => {
    const out = transpileExec();
    const script = join(out, 'child.js');
    writeFileSync(
      script,
      `const { getRunner } = require('./exec/index.js');
       const started = Date.now();
       const direct = getRunner(${JSON.stringify(spec())});
       const proxied = getRunner(${JSON.stringify(nsSpec())});
       (async () => {
         // A command in flight must hold the process open even though the socket is unref'd when idle.
         const a = await direct.run(['sh', '-c', 'sleep 0.5; echo direct']);
         const b = await proxied.run(['sh', '-c', 'sleep 0.5; echo proxied']);
         process.stdout.write(JSON.stringify({ a: a.stdout, b: b.stdout, ms: Date.now() - started }) + '\\n');
         // No closeAll(): the pool's beforeExit hook must let the process end by itself.
       })();`,
    );
    const started = Date.now();
    const child = spawnSync(process.execPath, [script], {
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: join(REPO, 'node_modules') },
      timeout: 15_000,
    });
    const elapsed = Date.now() - started;
    expect(child.error).toBeUndefined(); // set (ETIMEDOUT) if the process hung
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const res = JSON.parse(child.stdout.trim());
    expect(res).toMatchObject({ a: 'direct\n', b: 'proxied\n' });
    // The process ended within moments of its last command.
    expect(elapsed - res.ms).toBeLessThan(2500);
  });
});

describe('jump hosts and passphrase-protected keys', () => {
  // The namespace's sshd is the jump host; the target is 127.0.0.1:22 *as seen from it*.
  // From the root namespace nothing listens there, so a command that runs proves the jump.
  const viaJump = (extra: Partial<ConnectionSpec> = {}): ConnectionSpec => ({
    host: '127.0.0.1',
    port: 22,
    hostKey: nsHostPub,
    privateKeyPath: clientKeyPath,
    connectAttempts: 1,
    jump: { host: '127.0.0.1', port: 22, netns: NETNS, hostKey: nsHostPub },
    ...extra,
  });

  test('without the jump the target is unreachable; through it a command runs there', async () => {
    const direct = new SshRunner({ host: '127.0.0.1', port: 22, hostKey: nsHostPub, privateKeyPath: clientKeyPath, connectAttempts: 1 });
    await expect(direct.run(['true'])).rejects.toThrow(ConnectionError);
    await direct.close();
    const runner = new SshRunner(viaJump());
    try {
      // The command ran in the namespace's sshd: its netns is the test namespace's.
      const inode = (p: string) => execFileSync('stat', ['-L', '-c', '%i', p], { encoding: 'utf8' }).trim();
      const remoteNs = (await runner.run(['stat', '-L', '-c', '%i', '/proc/self/ns/net'])).stdout.trim();
      expect(remoteNs).toBe(inode(`/run/netns/${NETNS}`));
      expect(remoteNs).not.toBe(inode('/proc/self/ns/net'));
    } finally {
      await runner.close();
    }
  });

  test('the jump host\'s own key is pinned: a wrong pin stops there, naming the jump host', async () => {
    const runner = new SshRunner(viaJump({ jump: { host: '127.0.0.1', port: 22, netns: NETNS, hostKey: otherPub } }));
    try {
      const err = await runner.run(['true']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyMismatchError);
      expect(String((err as Error).message)).toMatch(/jump host/);
    } finally {
      await runner.close();
    }
  });

  test('a passphrase-protected key works with its passphrase; without it or with a wrong one the error never shows it', async () => {
    const key = join(dir, 'locked_ed25519');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'sesame-2026', '-C', 'locked', '-f', key]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'authorized_keys'), 'utf8') + readFileSync(`${key}.pub`, 'utf8'));
    const good = new SshRunner(spec({ privateKeyPath: key, passphrase: 'sesame-2026' }));
    try {
      expect((await good.run(['echo', 'unlocked'])).stdout.trim()).toBe('unlocked');
    } finally {
      await good.close();
    }
    for (const extra of [{}, { passphrase: 'wrong-guess-77' }]) {
      const bad = new SshRunner(spec({ privateKeyPath: key, ...extra }));
      const err = await bad.run(['true']).catch((e: unknown) => e);
      await bad.close();
      expect(err).toBeInstanceOf(ValidationError);
      const text = `${(err as Error).message} ${JSON.stringify(err)}`;
      expect(text).toMatch(/privateKeyPath: the private key cannot be used/);
      expect(text).not.toMatch(/sesame|wrong-guess/);
    }
  });
});

/**
 * PIDs of processes on this machine whose command line holds `text` (as an argument or inside
 * one, so a shell that will exec the command counts as well).
 */
function processesHolding(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (argv.some((a) => a.includes(text)) && state !== 'Z') found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Waits up to `ms` for every process holding `text` to end; returns those still running then. */
async function processesGone(text: string, ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let left = processesHolding(text);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesHolding(text);
  }
  return left;
}

/** Compiles providers/exec to JavaScript for a plain node child process (no ts-jest there). */
function transpileExec(): string {
  const out = join(dir, 'js');
  const src = join(REPO, 'providers', 'exec');
  mkdirSync(join(out, 'exec'), { recursive: true });
  for (const f of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
    const js = ts.transpileModule(readFileSync(join(src, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    writeFileSync(join(out, 'exec', f.replace(/\.ts$/, '.js')), js);
  }
  return out;
}
