/**
 * The topology as data: the zod schemas a drawn topology must satisfy field by field, and
 * the TypeScript types derived from them. Nothing here looks across fields (unknown nodes,
 * duplicate ids, the single root...): that is validate.ts's job, so this module stays a
 * plain description of the shape.
 *
 * Every object is `.strict()`: a misspelt key (`rol:` for `role:`) is an error, never a
 * silently ignored field that leaves a default in place.
 *
 * Schema messages follow the project's error format, "<what is wrong>; <how to fix>";
 * validate.ts prefixes the field path.
 */
import { z } from 'zod';

/** Node ids, host names and VM names: short DNS-label-like names, usable in OVS/libvirt names. */
export const ID_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
const ID_RULE = 'lowercase letter first, then up to 30 of a-z, 0-9 or "-"';

/** Path ids are longer so the default `${leaf}-${udpPort}` always fits. */
export const PATH_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** MAC in colon form; either case is accepted (the flow serializer normalises it). */
export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export const ROLES = ['root', 'relay', 'leaf'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Quote the offending value in a message (errors say what the bad value was): JSON with every
 * character outside printable ASCII escaped as \uXXXX, so the message stays one line and shows
 * what is really there (a Cyrillic U+04BB is not an "h"; a right-to-left override cannot reorder
 * the terminal), and at most 64 characters of it, so a 10,000-character value does not drown it.
 */
export const shown = (v: unknown): string => {
  if (typeof v !== 'string') return String(v);
  const ascii = (s: string) => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return v.length > 64 ? `${ascii(v.slice(0, 64)).slice(0, -1)}..." (${v.length} characters)` : ascii(v);
};

/**
 * A VM image: a file name or a path of such names (absolute or relative to the image folder).
 * No part is "." or ".." (traversal) or starts with "-" (an option); ASCII
 * only, at most 255 characters: whatever later uses it (a domain XML, a copy command), it can
 * never be read as an option, a shell word or a way out of the image folder.
 */
export const IMAGE_PATTERN = /^\/?(?!\.\.?(\/|$))[A-Za-z0-9_.+][A-Za-z0-9_.+-]*(\/(?!\.\.?(\/|$))[A-Za-z0-9_.+][A-Za-z0-9_.+-]*)*$/;
const IMAGE_RULE = 'use a file name or a path of names made of A-Z a-z 0-9 _ . + -, none of them "." or ".." or starting with "-", at most 255 characters';

const id = (what: string) =>
  z.string().regex(ID_PATTERN, { error: (iss) => `${shown(iss.input)} is not a valid ${what}; use ${ID_RULE}` });

const int = (min: number, max: number) => {
  const fix = `use an integer from ${min} to ${max}`;
  return z
    .number()
    .int({ error: (iss) => `${shown(iss.input)} is not a whole number; ${fix}` })
    .min(min, { error: (iss) => `${shown(iss.input)} is below ${min}; ${fix}` })
    .max(max, { error: (iss) => `${shown(iss.input)} is above ${max}; ${fix}` });
};

export const NodeSchema = z
  .object({
    id: id('node id'),
    role: z
      .enum(ROLES, {
        error: (iss) =>
          `${shown(iss.input)} is not a role; use one of: ${ROLES.join(', ')} (or leave role out for a pass-through switch)`,
      })
      .optional(),
    /** The hypervisor this node runs on (a host name from the inventory). */
    host: id('host name'),
    /** A failed node is taken out before the tree is computed (failover planning). */
    failed: z.boolean().default(false),
    /**
     * Where this node hosts several VMs and paths pass through it (it is not their leaf): the
     * VM that relays them. With one VM there is nothing to choose; with several and no
     * relayVm the plan refuses to guess (validate.ts, plan.ts).
     */
    relayVm: id('VM name').optional(),
  })
  .strict();

/** An undirected link: {a: x, b: y} and {a: y, b: x} are the same link. */
export const LinkSchema = z
  .object({
    a: z.string(),
    b: z.string(),
  })
  .strict();

export const VmSchema = z
  .object({
    name: id('VM name'),
    node: z.string(),
    memoryMiB: int(96, 4096).default(96),
    vcpus: int(1, 4).default(1),
    image: z
      .string()
      .min(1, 'is empty; give an image path or name, or leave the key out')
      // One check for length and shape, so a bad value gives one problem ('' is min's).
      .refine((v) => v === '' || (v.length <= 255 && IMAGE_PATTERN.test(v)), {
        error: (iss) => `${shown(iss.input)} is not a usable image path; ${IMAGE_RULE}`,
      })
      .optional(),
  })
  .strict();

export const ReceiverSchema = z
  .object({
    /** External receiver on the leaf's physical network: unicast, multicast or broadcast. */
    ip: z.string(),
    mac: z
      .string()
      .regex(MAC_PATTERN, {
        error: (iss) => `${shown(iss.input)} is not a MAC address; write six hex pairs with colons, e.g. 52:54:00:12:34:56`,
      })
      .optional(),
  })
  .strict();

export const StreamSchema = z
  .object({
    udpPort: int(1, 65535),
    srcIp: z.string().optional(),
  })
  .strict();

export const PathSchema = z
  .object({
    id: z
      .string()
      .regex(PATH_ID_PATTERN, {
        error: (iss) => `${shown(iss.input)} is not a valid path id; use a lowercase letter first, then up to 62 of a-z, 0-9 or "-"`,
      })
      .optional(),
    leaf: z.string(),
    /**
     * The VM the path goes through at its leaf: the path follows it when it migrates. Default:
     * the one VM declared on the leaf (none: the leaf delivers straight to the receiver);
     * required when the leaf hosts several VMs.
     */
    vm: id('VM name').optional(),
    receiver: ReceiverSchema,
    stream: StreamSchema,
  })
  .strict()
  // The id names the FlowPath resource; defaulting it from what the path delivers to where
  // keeps it stable when paths are reordered in the file.
  .transform((p) => ({ ...p, id: p.id ?? `${p.leaf}-${p.stream.udpPort}` }));

export const TopologySchema = z
  .object({
    nodes: z.array(NodeSchema),
    links: z.array(LinkSchema),
    vms: z.array(VmSchema).default([]),
    paths: z.array(PathSchema).default([]),
  })
  .strict();

/** What a user writes (defaults not yet applied). */
export type TopologyInput = z.input<typeof TopologySchema>;
/** A parsed topology: defaults applied, every path has an id. */
export type Topology = z.infer<typeof TopologySchema>;
export type TopologyNode = z.infer<typeof NodeSchema>;
export type Link = z.infer<typeof LinkSchema>;
export type Vm = z.infer<typeof VmSchema>;
export type Path = z.infer<typeof PathSchema>;
export type Receiver = z.infer<typeof ReceiverSchema>;
export type Stream = z.infer<typeof StreamSchema>;
