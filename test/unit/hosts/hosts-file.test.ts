/**
 * Hosts files (components/hosts): what loadHosts returns for StreamingTree, the errors a bad
 * file gets (field + fix, every problem at once, key material never echoed), secrets from
 * stack config, and the lab's writer producing exactly what the reader accepts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { HostsFileError, loadHosts, loadHostsFile, MAX_HOSTS_FILE_BYTES, readHostsFile } from '../../../components/hosts';
import { hostsFileOf } from '../../../lab/hosts-file';
import type { Inventory } from '../../../lab/inventory';
import type { ConnectionSpec } from '../../../providers/exec/connection';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM//z5YjiORumZAWztd4MfUoAB3rnA0Zqj+NL9cfaw9K';
const FP = 'SHA256:' + 'A'.repeat(43);
const PRIVATE = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-hosts-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

const REAL = `
version: 1
hosts:
  hv1:
    ssh:
      host: 192.0.2.11
      user: ops
      hostKey: ${KEY}
      privateKeyPath: keys/vpm
      jump: { host: bastion.example.net, user: jump, hostKey: "${FP}" }
    underlay: { ip: 192.0.2.11, mac: "52:54:00:AB:CD:01" }
    migration: { uri: qemu+ssh://192.0.2.11/system }
  hv2:
    ssh: { host: hv2.example.net, port: 2222, hostKey: "${FP}", privateKeyPath: ~/.ssh/vpm }
    underlay: { ip: 192.0.2.12, mac: "52:54:00:ab:cd:02" }
`;

async function resolved(c: pulumi.Input<ConnectionSpec>): Promise<ConnectionSpec> {
  return (pulumi.output(c) as unknown as { promise(): Promise<ConnectionSpec> }).promise();
}

describe('loadHosts', () => {
  test('a real-hosts file: connections (jump host, key paths made absolute), underlay, migration', async () => {
    const hosts = loadHosts(file('real.yaml', REAL));
    expect(Object.keys(hosts)).toEqual(['hv1', 'hv2']);
    expect(hosts.hv1).toMatchObject({ underlayIp: '192.0.2.11', underlayMac: '52:54:00:ab:cd:01', migrationUri: 'qemu+ssh://192.0.2.11/system', allowUnencryptedMigration: false });
    expect(await resolved(hosts.hv1.connection)).toEqual({
      host: '192.0.2.11',
      user: 'ops',
      hostKey: KEY,
      privateKeyPath: path.join(dir, 'keys', 'vpm'),
      jump: { host: 'bastion.example.net', user: 'jump', hostKey: FP },
    });
    expect(await resolved(hosts.hv2.connection)).toEqual({ host: 'hv2.example.net', port: 2222, hostKey: FP, privateKeyPath: path.join(os.homedir(), '.ssh', 'vpm') });
    expect(hosts.hv2.migrationUri).toBeUndefined();
  });

  test('every problem at once, each by its place in the file, with the fix', () => {
    const f = file(
      'bad.yaml',
      `version: 1
hosts:
  hv1:
    ssh: { host: "bad host!", hostKey: ${KEY}, privatekeypath: x }
    underlay: { ip: 300.1.1.1, mac: nope }
    migration: { uri: qemu+tcp://192.0.2.11/system }
`,
    );
    let err: HostsFileError | undefined;
    try {
      loadHostsFile(f);
    } catch (e) {
      err = e as HostsFileError;
    }
    expect(err).toBeInstanceOf(HostsFileError);
    const paths = err!.problems.map((p) => p.path).sort();
    expect(paths).toEqual(['hosts.hv1.migration.uri', 'hosts.hv1.ssh', 'hosts.hv1.underlay.ip', 'hosts.hv1.underlay.mac']);
    expect(err!.message).toMatch(/privatekeypath: check the spelling/);
    expect(err!.message).toMatch(/qemu\+ssh:\/\/ or qemu\+tls:\/\/, or set migration.allowUnencrypted: true/);
  });

  test('connection values are checked by the transport\'s own rules before any secret is read', () => {
    const f = file('conn.yaml', `version: 1\nhosts:\n  hv1:\n    ssh: { host: "bad host!", hostKey: "not a key" }\n    underlay: { ip: 192.0.2.1, mac: "52:54:00:00:00:01" }\n`);
    expect(() => loadHosts(f)).toThrow(/hosts\.hv1\.ssh\.host: .*not a valid host[\s\S]*hosts\.hv1\.ssh\.hostKey/);
  });

  test('key text pasted into privateKeyPath is refused without echoing it', () => {
    const f = file('leak.yaml', `version: 1\nhosts:\n  hv1:\n    ssh:\n      host: 192.0.2.1\n      hostKey: ${KEY}\n      privateKeyPath: |\n${PRIVATE.split('\n').map((l) => `        ${l}`).join('\n')}\n    underlay: { ip: 192.0.2.1, mac: "52:54:00:00:00:01" }\n`);
    let message = '';
    try {
      loadHosts(f);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/hosts\.hv1\.ssh\.privateKeyPath: holds key text, not a file path/);
    expect(message).not.toMatch(/BEGIN|b3BlbnNzaC1rZXktdjE/);
  });

  test('a key and its passphrase named as secret stack config come back as secret values', async () => {
    const config = { 'vpm:sshKey': PRIVATE, 'vpm:sshKeyPass': 'correct horse' };
    const before = process.env.PULUMI_CONFIG;
    const secretKeys = process.env.PULUMI_CONFIG_SECRET_KEYS;
    process.env.PULUMI_CONFIG = JSON.stringify(config);
    process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(Object.keys(config));
    try {
      const f = file('secret.yaml', `version: 1\nhosts:\n  hv1:\n    ssh: { host: 192.0.2.1, hostKey: ${KEY}, privateKeySecret: "vpm:sshKey", passphraseSecret: "vpm:sshKeyPass" }\n    underlay: { ip: 192.0.2.1, mac: "52:54:00:00:00:01" }\n`);
      const out = pulumi.output(loadHosts(f).hv1.connection);
      expect(await (out as unknown as { isSecret: Promise<boolean> }).isSecret).toBe(true);
      expect(await resolved(out)).toMatchObject({ host: '192.0.2.1', privateKey: PRIVATE, passphrase: 'correct horse' });
    } finally {
      if (before === undefined) delete process.env.PULUMI_CONFIG;
      else process.env.PULUMI_CONFIG = before;
      if (secretKeys === undefined) delete process.env.PULUMI_CONFIG_SECRET_KEYS;
      else process.env.PULUMI_CONFIG_SECRET_KEYS = secretKeys;
    }
  });

  test('a missing or oversized file says so before parsing', () => {
    expect(() => readHostsFile(path.join(dir, 'nope.yaml'))).toThrow(/cannot read it \(ENOENT\); check the path \(stack config vpm:hosts\)/);
    const big = file('big.yaml', '#'.repeat(MAX_HOSTS_FILE_BYTES + 1));
    expect(() => readHostsFile(big)).toThrow(/more than 1048576/);
  });

  test('the lab writes its hosts file in exactly this format (the reader accepts it)', () => {
    const inventory = {
      version: 1,
      createdAt: '2026-12-04T00:00:00.000Z',
      underlay: { netns: 'vpmlab-ul', cidr: '10.250.0.0/24', bridge: 'ul0', ip: '10.250.0.1' },
      privateKeyPath: path.join(dir, 'lab', 'id_ed25519'),
      knownHostsPath: path.join(dir, 'lab', 'known_hosts'),
      hypervisors: [
        { name: 'h1', netns: 'vpmlab-h1', ip: '10.250.0.11', mac: '02:56:50:00:00:01', sshPort: 22, user: 'root', hostKey: KEY, hostKeyFingerprint: FP, ovsRunDir: '/x', migrationUri: 'qemu+tcp://10.250.0.11/system' },
      ],
      receivers: [],
    } as unknown as Inventory;
    const written = hostsFileOf(inventory, path.join(dir, 'lab'));
    expect(written.hosts.h1).toEqual({
      ssh: { host: '10.250.0.11', port: 22, user: 'root', hostKey: KEY, privateKeyPath: 'id_ed25519', netns: 'vpmlab-ul' },
      underlay: { ip: '10.250.0.11', mac: '02:56:50:00:00:01' },
      migration: { uri: 'qemu+tcp://10.250.0.11/system', allowUnencrypted: true },
    });
  });
});
