/**
 * Reads a hosts file (schema.ts) into what StreamingTree takes: per host a ConnectionSpec
 * (key material from Pulumi secrets, never from plain text in the file), the underlay facts
 * and the migration URI. Every problem is reported at once, by its place in the file, before
 * anything reaches a host.
 */
import { readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import * as pulumi from '../../providers/common/pulumi-sdk';
import { parseDocument } from 'yaml';
import { type ConnectionSpec, connectionProblems } from '../../providers/exec';
import type { GuestImage, TreeHost } from '../streaming-tree/component';
import { HostsFileSchema, type HostEntry, type HostsFile } from './schema';

/** A hosts file larger than this is refused before it is parsed (a real one is a few KB). */
export const MAX_HOSTS_FILE_BYTES = 1024 * 1024;

/**
 * A RunError: a program that calls loadHosts at its top level gets the message alone (the
 * file, each field, the fix), not "Unhandled exception" and a stack trace.
 */
export class HostsFileError extends pulumi.RunError {
  constructor(
    readonly file: string,
    readonly problems: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(`${file} is not a valid hosts file:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'HostsFileError';
  }
}

export interface LoadedHosts {
  readonly hosts: Record<string, TreeHost>;
  readonly guest?: GuestImage;
}

/** The hosts of a hosts file, in the shape StreamingTree's `hosts` takes. */
export function loadHosts(file: string): Record<string, TreeHost> {
  return loadHostsFile(file).hosts;
}

/** The hosts and the optional guest image of a hosts file. */
export function loadHostsFile(file: string): LoadedHosts {
  const parsed = readHostsFile(file);
  const dir = nodePath.dirname(nodePath.resolve(file));
  const problems: Array<{ path: string; message: string }> = [];
  const hosts: Record<string, TreeHost> = {};
  for (const [name, entry] of Object.entries(parsed.hosts)) {
    const plain = plainConnection(entry, dir);
    for (const p of connectionProblems(plain)) problems.push({ path: `hosts.${name}.ssh.${p.property}`, message: p.reason });
    hosts[name] = {
      connection: withSecrets(plain, entry),
      underlayIp: entry.underlay.ip,
      underlayMac: entry.underlay.mac,
      ...(entry.migration ? { migrationUri: entry.migration.uri, allowUnencryptedMigration: entry.migration.allowUnencrypted } : {}),
    };
  }
  if (problems.length) throw new HostsFileError(file, problems);
  return { hosts, ...(parsed.guest ? { guest: parsed.guest } : {}) };
}

/** Reads, parses and validates the file; no secrets are looked up here. */
export function readHostsFile(file: string): HostsFile {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_HOSTS_FILE_BYTES) throw new HostsFileError(file, [{ path: '(file)', message: `is ${size} bytes, more than ${MAX_HOSTS_FILE_BYTES}: is this the right file?` }]);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof HostsFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new HostsFileError(file, [{ path: '(file)', message: `cannot read it (${code}); check the path (stack config vpm:hosts)` }]);
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new HostsFileError(file, doc.errors.map((e) => ({ path: '(yaml)', message: e.message.split('\n')[0] })));
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new HostsFileError(file, [{ path: '(yaml)', message: e instanceof Error ? e.message.split('\n')[0] : String(e) }]);
  }
  const result = HostsFileSchema.safeParse(value);
  if (!result.success) {
    throw new HostsFileError(
      file,
      result.error.issues.map((i) => ({
        path: i.path.length ? i.path.map(String).join('.') : '(root)',
        message: i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}: check the spelling (see the hosts file format in the README)` : i.message,
      })),
    );
  }
  return result.data;
}

/** `~/x` and paths relative to the hosts file's folder, made absolute. */
function keyPath(p: string, dir: string): string {
  if (p === '~' || p.startsWith('~/')) return nodePath.join(os.homedir(), p.slice(1));
  return nodePath.resolve(dir, p);
}

/** The connection without secrets (validated before any secret is looked up). */
function plainConnection(entry: HostEntry, dir: string): ConnectionSpec {
  const s = entry.ssh;
  return {
    host: s.host,
    hostKey: s.hostKey,
    ...(s.port !== undefined ? { port: s.port } : {}),
    ...(s.user !== undefined ? { user: s.user } : {}),
    ...(s.privateKeyPath !== undefined ? { privateKeyPath: keyPath(s.privateKeyPath, dir) } : {}),
    ...(s.netns !== undefined ? { netns: s.netns } : {}),
    ...(s.connectTimeoutMs !== undefined ? { connectTimeoutMs: s.connectTimeoutMs } : {}),
    ...(s.connectAttempts !== undefined ? { connectAttempts: s.connectAttempts } : {}),
    ...(s.jump
      ? {
          jump: {
            host: s.jump.host,
            hostKey: s.jump.hostKey,
            ...(s.jump.port !== undefined ? { port: s.jump.port } : {}),
            ...(s.jump.user !== undefined ? { user: s.jump.user } : {}),
            ...(s.jump.privateKeyPath !== undefined ? { privateKeyPath: keyPath(s.jump.privateKeyPath, dir) } : {}),
            ...(s.jump.netns !== undefined ? { netns: s.jump.netns } : {}),
          },
        }
      : {}),
  };
}

/** A stack config value that must be a secret ("key" in the project's namespace, or "ns:key"). */
function secretConfig(ref: string): pulumi.Output<string> {
  const [ns, key] = ref.includes(':') ? ref.split(':', 2) : [undefined, ref];
  return new pulumi.Config(ns).requireSecret(key);
}

/** The connection with its key and passphrase from secret stack config, when the file names them. */
function withSecrets(plain: ConnectionSpec, entry: HostEntry): pulumi.Input<ConnectionSpec> {
  const { privateKeySecret, passphraseSecret } = entry.ssh;
  if (!privateKeySecret && !passphraseSecret) return plain;
  return pulumi
    .all([privateKeySecret ? secretConfig(privateKeySecret) : undefined, passphraseSecret ? secretConfig(passphraseSecret) : undefined])
    .apply(([privateKey, passphrase]) => ({ ...plain, ...(privateKey ? { privateKey } : {}), ...(passphrase ? { passphrase } : {}) }));
}
