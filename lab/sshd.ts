/**
 * One sshd per hypervisor, inside its namespace, listening on the hypervisor's underlay IP:22
 * only, with a fresh ed25519 host key and key-only root login for the lab's client key.
 * `SetEnv` gives every session the node's OVS_* variables, so a plain remote `ovs-vsctl`
 * reaches that node's OVS. `SHLVL=1` makes the login shell (bash) a nested shell, so it skips
 * ~/.bashrc, which bash otherwise sources for commands run by sshd (on these machines
 * ~/.bashrc runs `pyenv init` and cost ~145 ms per command).
 * Files: `.lab/hK/ssh/{ssh_host_ed25519_key,sshd_config,sshd.pid,sshd.log}`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HypervisorNames, ovsEnv } from './names';
import { PidRegistry, isAlive, readPidFile } from './procs';
import { sh } from './sh';
import { ToolPaths } from './tools';

export const PRIVSEP_DIR = '/run/sshd';

/** "ssh-ed25519 AAAA..." (no comment) -> "SHA256:..." as `ssh-keygen -l` prints it. */
export function fingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1];
  if (!blob) throw new Error(`not an OpenSSH public key: ${publicKey.slice(0, 40)}`);
  return 'SHA256:' + createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
}

/** Generates a fresh ed25519 keypair at `file` (replacing any); returns "ssh-ed25519 AAAA...". */
export async function generateKey(tools: ToolPaths, file: string, comment: string): Promise<string> {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  await sh([tools['ssh-keygen'], '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  const [type, blob] = fs.readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/);
  return `${type} ${blob}`;
}

function quoteConfigValue(value: string): string {
  if (/["\n\r]/.test(value)) throw new Error(`path not usable in sshd_config: ${JSON.stringify(value)}`);
  return `"${value}"`;
}

export function sshdConfig(opts: {
  listen: string;
  hostKey: string;
  pidFile: string;
  authorizedKeys: string;
  env: Record<string, string>;
}): string {
  const q = quoteConfigValue;
  const setEnv = Object.entries({ ...opts.env, SHLVL: '1' })
    .map(([k, v]) => q(`${k}=${v}`))
    .join(' ');
  return [
    '# Written by vpm lab up; one sshd per lab hypervisor.',
    `ListenAddress ${opts.listen}`,
    `HostKey ${q(opts.hostKey)}`,
    `PidFile ${q(opts.pidFile)}`,
    `AuthorizedKeysFile ${q(opts.authorizedKeys)}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'StrictModes no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    // MaxSessions stays at OpenSSH's default (10), as on a real hypervisor: VPM opens at most
    // 8 session channels per connection and asks again for one sshd refuses (exec/ssh.ts).
    // Connections: many clients may log in at once (benchmarks, tests side by side).
    'MaxStartups 64:30:128',
    'Subsystem sftp internal-sftp',
    `SetEnv ${setEnv}`,
    '',
  ].join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts hK's sshd (`sshd -D`, detached, in the namespace) and waits until it listens: sshd
 * writes its pidfile only after binding. Fails early with its log if it exits.
 */
export async function startHypervisorSshd(
  tools: ToolPaths,
  h: HypervisorNames,
  sshDir: string,
  ovsDir: string,
  authorizedKeys: string,
  pids: PidRegistry,
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
  extraEnv: Record<string, string> = {},
): Promise<{ hostKey: string }> {
  fs.mkdirSync(sshDir, { recursive: true });
  fs.mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  const keyFile = path.join(sshDir, 'ssh_host_ed25519_key');
  const pidFile = path.join(sshDir, 'sshd.pid');
  const logFile = path.join(sshDir, 'sshd.log');
  const configFile = path.join(sshDir, 'sshd_config');
  const hostKey = await step('generate ssh host key', () => generateKey(tools, keyFile, `vpmlab-${h.name}`));
  fs.writeFileSync(
    configFile,
    sshdConfig({ listen: `${h.ip}:22`, hostKey: keyFile, pidFile, authorizedKeys, env: { ...ovsEnv(ovsDir), ...extraEnv } }),
  );
  fs.rmSync(pidFile, { force: true });
  await step('start sshd', async () => {
    // Early errors (before -E takes effect, or from `ip netns exec`) land in the same log.
    const logFd = fs.openSync(logFile, 'a');
    const child = spawn(tools.ip, ['netns', 'exec', h.netns, tools.sshd, '-D', '-f', configFile, '-E', logFile], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    fs.closeSync(logFd);
    let exited: string | undefined;
    child.on('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit ${code}`));
    child.on('error', (e) => (exited = e.message));
    child.unref();
    if (child.pid === undefined) throw new Error('could not spawn sshd');
    // `ip netns exec` execs sshd: same PID, same start time.
    pids.add(`${h.name}/sshd`, child.pid);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (readPidFile(pidFile) === child.pid) return;
      if (exited === undefined && !isAlive(child.pid)) await sleep(50); // let 'exit' report the code
      if (exited !== undefined || !isAlive(child.pid)) {
        throw new Error(`sshd exited (${exited ?? 'gone'}) before listening; ${logTail(logFile)}`);
      }
      if (Date.now() > deadline) throw new Error(`sshd did not listen on ${h.ip}:22 within 10 s; ${logTail(logFile)}`);
      await sleep(5);
    }
  });
  return { hostKey };
}

function logTail(file: string): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
    return lines ? `its log ${file} ends: ${lines}` : `its log ${file} is empty`;
  } catch {
    return `no log at ${file}`;
  }
}
