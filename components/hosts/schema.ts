/**
 * The hosts file: the hypervisors a StreamingTree runs on, one YAML file per environment,
 * written by hand for real machines and by `vpm lab up` for the lab (.lab/hosts.yaml).
 *
 *   version: 1
 *   hosts:
 *     hv1:                                  # the name topology nodes use as `host`
 *       ssh:
 *         host: 192.0.2.11                  # address or DNS name of its sshd
 *         port: 22                          # default 22
 *         user: root                        # default root
 *         hostKey: ssh-ed25519 AAAA...      # the pinned host key (or SHA256:... fingerprint)
 *         privateKeyPath: ~/.ssh/vpm        # relative to this file, or ~/...
 *         # or privateKeySecret: sshKey     # a secret stack config value: pulumi config set --secret sshKey < key
 *         # passphraseSecret: sshKeyPass    # the key's passphrase, a secret stack config value
 *         # neither: the SSH agent (SSH_AUTH_SOCK)
 *         jump:                             # optional, like OpenSSH's ProxyJump
 *           host: bastion.example.net
 *           user: ops
 *           hostKey: SHA256:...
 *           # privateKeyPath: ...           # default: the same credentials as the host
 *       underlay: { ip: 192.0.2.11, mac: 52:54:00:12:34:56 }   # GRE endpoint, br0's MAC
 *       migration:
 *         uri: qemu+ssh://192.0.2.11/system # where peers live-migrate VMs to (qemu+ssh or qemu+tls)
 *         allowUnencrypted: false           # must be true for qemu+tcp:// (the lab only)
 *   guest: { kernel: /srv/vpm/vmlinux, initrd: /srv/vpm/initrd.img }   # optional: VM image on every host
 *   # guest.emulator: optional QEMU binary or wrapper on every host (default: libvirt's choice;
 *   # the lab writes build-guest.sh's wrapper); the image must read StreamingTree's vpm.* kernel
 *   # parameters (components/streaming-tree/guest.ts)
 *
 * Pure: the schema and its types; reading and secrets are in load.ts.
 */
import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1..63 letters, digits, _ . - starting with a letter or digit, e.g. hv1');
const ipv4 = z.ipv4({ message: 'must be a dotted-quad IPv4 address such as 192.0.2.11' });
const mac = z.string().regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'must be a MAC address such as 52:54:00:12:34:56').transform((m) => m.toLowerCase());
const port = z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535');
const configKey = z
  .string()
  .regex(/^([A-Za-z][A-Za-z0-9_.-]{0,63}:)?[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must name a stack config value, e.g. sshKey or myproject:sshKey');
const path = z.string().min(1, 'must not be empty').max(4096, 'is longer than 4096 characters');

export const JumpSchema = z.strictObject({
  host: z.string().min(1, 'must not be empty'),
  port: port.optional(),
  user: z.string().optional(),
  hostKey: z.string().min(1, 'must be the pinned host key ("ssh-ed25519 AAAA...") or its SHA256: fingerprint'),
  privateKeyPath: path.optional(),
  /** Lab only. */
  netns: z.string().optional(),
});

export const SshSchema = z
  .strictObject({
    host: z.string().min(1, 'must not be empty'),
    port: port.optional(),
    user: z.string().optional(),
    hostKey: z.string().min(1, 'must be the pinned host key ("ssh-ed25519 AAAA...") or its SHA256: fingerprint'),
    privateKeyPath: path.optional(),
    privateKeySecret: configKey.optional(),
    passphraseSecret: configKey.optional(),
    jump: JumpSchema.optional(),
    /** Lab only: reach the host from inside this network namespace. */
    netns: z.string().optional(),
    connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
    connectAttempts: z.number().int().min(1).max(100).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.privateKeyPath !== undefined && v.privateKeySecret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['privateKeySecret'], message: 'conflicts with privateKeyPath: give one of them (or neither, for the SSH agent)' });
    }
  });

export const MigrationSchema = z
  .strictObject({
    uri: z.string().regex(/^qemu\+(ssh|tls|tcp):\/\/[^\s/?#]+\/system$/, 'must be qemu+ssh://HOST/system or qemu+tls://HOST/system'),
    allowUnencrypted: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.uri.startsWith('qemu+tcp:') && !v.allowUnencrypted) {
      ctx.addIssue({
        code: 'custom',
        path: ['uri'],
        message: 'qemu+tcp:// sends VM memory unauthenticated and unencrypted: use qemu+ssh:// or qemu+tls://, or set migration.allowUnencrypted: true on a closed network (the lab)',
      });
    }
  });

export const HostSchema = z.strictObject({
  ssh: SshSchema,
  underlay: z.strictObject({ ip: ipv4, mac }),
  migration: MigrationSchema.optional(),
});

export const HostsFileSchema = z.strictObject({
  version: z.literal(1, { message: 'must be 1 (the hosts file format version)' }),
  hosts: z.record(name, HostSchema).refine((h) => Object.keys(h).length > 0, 'must list at least one host'),
  guest: z.strictObject({ kernel: path, initrd: path, emulator: path.optional() }).optional(),
});

export type HostsFile = z.output<typeof HostsFileSchema>;
export type HostsFileInput = z.input<typeof HostsFileSchema>;
export type HostEntry = z.output<typeof HostSchema>;
