/**
 * The lab inventory (`.lab/inventory.json`): what `lab up` built and what stacks read to reach
 * the hypervisors (addresses, SSH key, pinned host keys). A zod schema, the exported types,
 * a reader with actionable errors and an atomic writer. Version 1; unknown keys are rejected,
 * so a writer that adds a field must extend this schema (and bump the version if the meaning
 * of an existing field changes).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { LabError } from './errors';
import { LabPaths } from './names';

const mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'a lower-case MAC address like 02:56:50:00:00:01');
const netns = z.string().regex(/^[a-z][a-z0-9]{0,10}-[a-z0-9]+$/, 'a lab namespace name (vpmlab-...)');
const absPath = z.string().refine((p) => path.isAbsolute(p), 'an absolute path');
const sshPublicKey = z.string().regex(/^ssh-ed25519 [A-Za-z0-9+/]+=*$/, 'an OpenSSH public key "ssh-ed25519 AAAA..." without comment');

export const HypervisorSchema = z.strictObject({
  name: z.string().regex(/^h\d+$/, 'h<K>'),
  netns,
  ip: z.ipv4(),
  mac,
  sshPort: z.number().int().min(1).max(65535),
  user: z.string().min(1),
  hostKey: sshPublicKey,
  hostKeyFingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'SHA256:<43 base64 chars>'),
  ovsRunDir: absPath,
  /** With --libvirt: this hypervisor's libvirtd (virsh -c) and the URI peers migrate to. */
  libvirtUri: z.string().min(1).optional(),
  migrationUri: z.string().regex(/^qemu\+tcp:\/\/[0-9.]+\/system$/, 'qemu+tcp://<ip>/system').optional(),
});

export const ReceiverSchema = z.strictObject({
  name: z.string().regex(/^r\d+$/, 'r<K>'),
  netns,
  ip: z.ipv4(),
  mac,
});

export const InventorySchema = z.strictObject({
  version: z.literal(1),
  createdAt: z.iso.datetime(),
  /**
   * This lab's generation: new at every `lab up` (its host keys are new too). Stacks deployed
   * on the lab are recorded with it (generations.ts), so state pinned to an earlier lab is
   * recognised before an `up` fails on host keys. Written by writeInventory when absent.
   */
  generation: z.string().regex(/^[0-9a-f]{16}$/, '16 lower-case hex digits').optional(),
  underlay: z.strictObject({
    netns,
    cidr: z.cidrv4(),
    /** Linux bridge of the underlay LAN, inside `netns`. */
    bridge: z.string().min(1),
    /** The bridge's own address: what `ip netns exec <netns> ssh/socat` connects from. */
    ip: z.ipv4(),
  }),
  privateKeyPath: absPath,
  knownHostsPath: absPath,
  hypervisors: z.array(HypervisorSchema).min(1),
  receivers: z.array(ReceiverSchema),
  /** With --libvirt: the tiny guest, at the same paths on every hypervisor. */
  guest: z.strictObject({ kernel: absPath, initrd: absPath, emulator: absPath }).optional(),
});

export type Inventory = z.infer<typeof InventorySchema>;
export type InventoryHypervisor = z.infer<typeof HypervisorSchema>;
export type InventoryReceiver = z.infer<typeof ReceiverSchema>;

/** Validates a parsed value; the error lists every bad field by its path. */
export function parseInventory(value: unknown, source = 'inventory'): Inventory {
  const result = InventorySchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new LabError(`${source} is not a valid lab inventory:\n${problems.join('\n')}`);
}

/** Reads and validates the inventory (default: the lab state dir's inventory.json). */
export function readInventory(file: string = LabPaths.default().inventory): Inventory {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LabError(`no lab inventory at ${file}; run \`npx vpm lab up\``);
    }
    throw new LabError(`cannot read lab inventory ${file}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new LabError(`${file} is not valid JSON (${(e as Error).message}); run \`npx vpm lab down\` and \`npx vpm lab up\``);
  }
  return parseInventory(value, file);
}

/** Writes a file atomically (temp file in the same directory, then rename). */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}

/** A fresh generation id (16 hex digits). */
export function newGeneration(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The inventory's generation. Inventories written before generations existed get one derived
 * from what was new in that lab (its creation time and host keys), stable across reads.
 */
export function generationOf(inventory: Inventory): string {
  if (inventory.generation) return inventory.generation;
  const seed = [inventory.createdAt, ...inventory.hypervisors.map((h) => h.hostKey)].join('\n');
  return createHash('sha256').update(seed).digest('hex').slice(0, 16);
}

/** Validates, then writes the inventory atomically (with a new generation when it has none). */
export function writeInventory(file: string, inventory: Inventory): Inventory {
  const checked = parseInventory({ ...inventory, generation: inventory.generation ?? newGeneration() }, 'the inventory to write');
  writeFileAtomic(file, JSON.stringify(checked, null, 2) + '\n');
  return checked;
}
