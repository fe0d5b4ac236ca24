/**
 * From untrusted input (a YAML file, a stack config object) to a Topology, or one
 * TopologyError listing every problem at once: field shapes (zod), then the cross-field
 * rules (one root, known and unique ids, no self-loops or duplicate links, paths ending at
 * leaves, the VM a path goes through and a node's relayVm declared where they must be, usable
 * receiver addresses, every leaf reachable from the root after pruning).
 *
 * The cross-field rules run on the raw input even when some fields have the wrong shape,
 * reading only what is well-typed, so a typo in one node does not hide an unknown node in
 * a link. Field paths look like `nodes[2].role`, as a user would point at them in the file.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { TopologyError, type TopologyProblem } from './errors';
import { buildGraph, type GraphNode } from './graph';
import { receiverIpProblem, sourceIpProblem } from './ipv4';
import { ROLES, TopologySchema, shown, type Link, type Role, type Topology } from './model';
import { pruneIndexed } from './prune';
import { capProblems, depthError, MAX_TOPOLOGY_BYTES, MAX_TOPOLOGY_DEPTH, textLimitProblems, valueDepth } from './limits';

/**
 * The Topology values parseTopology returned: asTopology uses them as they are, so a topology
 * loaded by the program (loadTopologyFile) is not parsed again by the component it is given to.
 */
const PARSED = new WeakSet<object>();

/**
 * Parse and check a topology. `source` (e.g. a file name) is named in the error message.
 * Throws TopologyError with every problem found.
 */
export function parseTopology(input: unknown, source?: string): Topology {
  const topology = parseOnce(input, source);
  PARSED.add(topology);
  return topology;
}

/**
 * A topology from parseTopology or loadTopologyFile as it is; anything else (a raw object, such
 * as a stack config value, or a Topology built by hand) parsed and checked by parseTopology.
 * The check is of the value parseTopology returned: to change a topology, build a new one
 * (`parseTopology({ ...t, nodes })`) rather than editing the parsed one in place.
 */
export function asTopology(input: unknown, source?: string): Topology {
  return typeof input === 'object' && input !== null && PARSED.has(input) ? (input as Topology) : parseTopology(input, source);
}

function parseOnce(input: unknown, source?: string): Topology {
  // Stack config objects never went through the text scan: bound their depth here too.
  if (valueDepth(input, MAX_TOPOLOGY_DEPTH + 1) > MAX_TOPOLOGY_DEPTH) throw depthError(source);
  const problems: TopologyProblem[] = [];
  const parsed = TopologySchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...issueProblems(issue, input));
  }
  problems.push(...semanticProblems(input));
  if (problems.length > 0 || !parsed.success) throw new TopologyError(capProblems(inFileOrder(dedupe(problems))), source);
  return parsed.data;
}

/** Read a YAML topology file and parse it; every error names the file. */
export function loadTopologyFile(file: string): Topology {
  let text: string;
  try {
    // Refuse a huge file before reading it whole (a FIFO or /dev/zero has no useful size).
    const size = statSync(file).size;
    if (size > MAX_TOPOLOGY_BYTES) {
      throw new TopologyError([{ path: '(file)', message: `is ${size} bytes, more than ${MAX_TOPOLOGY_BYTES}; split it or remove what is not needed` }], file);
    }
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof TopologyError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new TopologyError([{ path: '(file)', message: `cannot read it (${reason}); check the path and permissions` }], file);
  }
  const limits = textLimitProblems(text);
  if (limits.length > 0) throw new TopologyError(limits, file);
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new TopologyError(
      capProblems(
        doc.errors.map((err) => ({
          path: '(yaml)',
          message: `${err.message.split('\n')[0].replace(/:$/, '')}; fix the YAML syntax there`,
        })),
      ),
      file,
    );
  }
  let input: unknown;
  try {
    input = doc.toJS();
  } catch (e) {
    // e.g. an alias "billion laughs" (yaml's maxAliasCount): still the one error type, named.
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new TopologyError([{ path: '(yaml)', message: `${reason}; expand the aliases (*name) by hand or use fewer of them` }], file);
  }
  return parseTopology(input, file);
}

// ---------------------------------------------------------------------------------------
// zod issues -> problems

type Segment = PropertyKey;

/** `['nodes', 2, 'role']` -> `nodes[2].role`; the empty path is the whole topology. */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? 'topology' : out;
}

interface ZodIssueLike {
  readonly code: string;
  readonly path: readonly Segment[];
  readonly message: string;
  readonly expected?: unknown;
  readonly keys?: readonly string[];
}

function issueProblems(issue: ZodIssueLike, input: unknown): TopologyProblem[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return (issue.keys ?? []).map((key) => ({
        path: formatPath([...issue.path, key]),
        message: unknownKeyMessage(key, allowedKeys(issue.path)),
      }));
    case 'invalid_type':
      // Our schema messages (e.g. "is not a whole number") are already in the project's
      // form; zod's own start with "Invalid input" and get rewritten with the actual value.
      if (!issue.message.startsWith('Invalid input')) break;
      return [{ path, message: typeMessage(String(issue.expected), valueAt(input, issue.path), issue.path.length === 0) }];
  }
  return [{ path, message: issue.message }];
}

function typeMessage(expected: string, actual: unknown, isRoot: boolean): string {
  const want = isRoot ? 'a mapping with nodes and links (and optionally vms, paths)' : EXPECTED[expected] ?? expected;
  if (actual === undefined) return `is missing; add it (${want})`;
  return `is ${describe(actual)}, expected ${want}; change it to ${want}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `the string ${JSON.stringify(v)}`;
    case 'number':
    case 'boolean':
      return `${typeof v} ${String(v)}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof v;
  }
}

function valueAt(input: unknown, path: readonly Segment[]): unknown {
  let v = input;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const near = allowed.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  const hint = near ? `did you mean "${near}"?` : 'remove it or check its spelling';
  return `unknown key ${shown(key)}; ${hint} (allowed here: ${allowed.join(', ')})`;
}

/** Walk the schema along an issue path to list the keys the object there accepts. */
interface Walkable {
  readonly _zod: { readonly def: { type: string; shape?: Record<string, Walkable>; element?: Walkable; innerType?: Walkable; in?: Walkable } };
}

function allowedKeys(path: readonly Segment[]): string[] {
  const unwrap = (s: Walkable): Walkable => {
    for (;;) {
      const def = s._zod.def;
      if (def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else return s;
    }
  };
  let s: Walkable | undefined = unwrap(TopologySchema as unknown as Walkable);
  for (const seg of path) {
    const def: Walkable['_zod']['def'] = s._zod.def;
    if (def.type === 'object' && typeof seg === 'string') s = def.shape?.[seg];
    else if (def.type === 'array' && typeof seg === 'number') s = def.element;
    else s = undefined;
    if (!s) return [];
    s = unwrap(s);
  }
  return Object.keys(s._zod.def.shape ?? {});
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------------------------------
// cross-field rules, on the raw input

/** The well-typed parts of one node; anything mistyped is left undefined (zod reports it). */
interface LooseNode {
  readonly index: number;
  readonly id?: string;
  /** 'invalid' when a role is given but is not one of ROLES. */
  readonly role?: Role | 'invalid';
  readonly failed: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** "a, b, c" capped so a 10,000-node topology does not produce a 10,000-name message. */
function names(ids: readonly string[], max = 12): string {
  if (ids.length <= max) return ids.join(', ');
  return `${ids.slice(0, max).join(', ')}, ... (${ids.length - max} more)`;
}

function semanticProblems(input: unknown): TopologyProblem[] {
  if (!isRecord(input)) return [];
  const problems: TopologyProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });

  // Nodes: unique ids, exactly one root.
  const nodes: LooseNode[] = list(input.nodes).map((raw, index) => {
    const r = isRecord(raw) ? raw : {};
    const role = r.role === undefined ? undefined : (ROLES as readonly unknown[]).includes(r.role) ? (r.role as Role) : 'invalid';
    return { index, id: str(r.id), role, failed: r.failed === true };
  });
  const byId = new Map<string, LooseNode>();
  let idsUnique = true;
  for (const node of nodes) {
    if (node.id === undefined) continue;
    const first = byId.get(node.id);
    if (first) {
      idsUnique = false;
      add(`nodes[${node.index}].id`, `duplicate node id "${node.id}" (also nodes[${first.index}]); give each node a unique id`);
    } else byId.set(node.id, node);
  }
  const allIds = [...byId.keys()];
  const knownNode = (field: string, id: string): LooseNode | undefined => {
    const node = byId.get(id);
    if (!node) add(field, `unknown node ${shown(id)}; use one of the node ids: ${names(allIds) || '(none declared)'}`);
    return node;
  };

  const roots = nodes.filter((n) => n.role === 'root');
  // With a mistyped role ("rooot") the root may well be there: zod already points at it,
  // so "no root" would only be a misleading second message for the same typo.
  const someRoleInvalid = nodes.some((n) => n.role === 'invalid');
  if (Array.isArray(input.nodes)) {
    if (roots.length === 0 && !someRoleInvalid) {
      add('nodes', 'no node has role "root"; set role: root on exactly one node (where the stream starts)');
    } else if (roots.length > 1) {
      const named = roots.map((n) => `"${n.id ?? '?'}" (nodes[${n.index}])`).join(', ');
      add('nodes', `${roots.length} nodes have role "root": ${named}; keep role: root on exactly one of them and make the others relay or leaf`);
    }
  }

  // Links: known ends, no self-loops, no duplicates (a-b equals b-a).
  const usableLinks: Link[] = [];
  const seenLinks = new Map<string, number>();
  // A link we cannot read (wrong shape, unknown end) could be the one that connects a leaf;
  // reachability is then left unjudged rather than reported as a misleading consequence.
  let linksSound = Array.isArray(input.links);
  list(input.links).forEach((raw, i) => {
    if (!isRecord(raw)) {
      linksSound = false;
      return;
    }
    const a = str(raw.a);
    const b = str(raw.b);
    const na = a === undefined ? undefined : knownNode(`links[${i}].a`, a);
    const nb = b === undefined ? undefined : knownNode(`links[${i}].b`, b);
    if (!na || !nb) linksSound = false;
    if (a === undefined || b === undefined) return;
    if (a === b) {
      add(`links[${i}]`, `links node "${a}" to itself; remove it or change one end`);
      return;
    }
    const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
    const first = seenLinks.get(key);
    if (first !== undefined) {
      add(`links[${i}]`, `duplicate of links[${first}] (${a}-${b}; a-b and b-a are the same link); remove one of them`);
      return;
    }
    seenLinks.set(key, i);
    if (na && nb) usableLinks.push({ a, b });
  });

  // VMs: on a known node, unique names.
  const vmNames = new Map<string, number>();
  /** VM name -> the node it is declared on (first declaration; unreadable nodes left out). */
  const vmNode = new Map<string, string | undefined>();
  list(input.vms).forEach((raw, i) => {
    if (!isRecord(raw)) return;
    const node = str(raw.node);
    if (node !== undefined) knownNode(`vms[${i}].node`, node);
    const name = str(raw.name);
    if (name === undefined) return;
    const first = vmNames.get(name);
    if (first !== undefined) add(`vms[${i}].name`, `duplicate VM name "${name}" (also vms[${first}]); give each VM a unique name`);
    else {
      vmNames.set(name, i);
      vmNode.set(name, node);
    }
  });
  const vmsDeclaredOn = (node: string) => [...vmNode].filter(([, n]) => n === node).map(([v]) => v);

  // A node's relayVm: one of the VMs declared on that node (who relays is the topology's choice,
  // never a guess; plan.ts refuses a transit node with several VMs and no relayVm).
  list(input.nodes).forEach((raw, i) => {
    if (!isRecord(raw) || typeof raw.relayVm !== 'string' || typeof raw.id !== 'string') return;
    const on = vmsDeclaredOn(raw.id);
    if (vmNode.get(raw.relayVm) !== raw.id) {
      const where = vmNode.has(raw.relayVm) ? `VM "${raw.relayVm}" is declared on node "${vmNode.get(raw.relayVm) ?? '?'}"` : `no VM ${shown(raw.relayVm)} is declared`;
      add(`nodes[${i}].relayVm`, `${where}, not on "${raw.id}"; name one of the VMs declared on it (${on.join(', ') || 'none: remove relayVm'})`);
    }
  });

  // Paths: end at a live leaf, unique ids, deliverable addresses.
  const leafIds = nodes.filter((n) => n.role === 'leaf' && n.id !== undefined).map((n) => n.id as string);
  const pathIds = new Map<string, number>();
  list(input.paths).forEach((raw, i) => {
    if (!isRecord(raw)) return;
    const leaf = str(raw.leaf);
    if (leaf !== undefined) {
      const node = byId.get(leaf);
      if (!node) {
        add(`paths[${i}].leaf`, `unknown node ${shown(leaf)}; use one of the leaf nodes: ${names(leafIds) || '(none: set role: leaf on a node)'}`);
      } else if (node.role !== 'leaf' && node.role !== 'invalid') {
        add(
          `paths[${i}].leaf`,
          `node "${leaf}" is ${node.role ? `a ${node.role}` : 'a node without a role'}, not a leaf; ` +
            `end the path at a leaf (${names(leafIds) || 'none declared'}) or set role: leaf on nodes[${node.index}]`,
        );
      } else if (node.failed) {
        add(`paths[${i}].leaf`, `leaf "${leaf}" is marked failed (nodes[${node.index}]); remove the path or clear failed on that node`);
      }
    }

    // The VM the path goes through at its leaf: named, or the leaf's only VM.
    const vm = str(raw.vm);
    if (leaf !== undefined && byId.has(leaf)) {
      const onLeaf = vmsDeclaredOn(leaf);
      if (vm !== undefined && !vmNode.has(vm)) {
        add(`paths[${i}].vm`, `no VM ${shown(vm)} is declared; name a VM declared on the leaf "${leaf}" (${onLeaf.join(', ') || 'none: remove vm'})`);
      } else if (vm !== undefined && vmNode.get(vm) !== leaf) {
        add(`paths[${i}].vm`, `VM "${vm}" is declared on node "${vmNode.get(vm) ?? '?'}", not on the path's leaf "${leaf}"; name a VM declared on "${leaf}" (${onLeaf.join(', ') || 'none'}) or set leaf: ${vmNode.get(vm) ?? '?'}`);
      } else if (vm === undefined && onLeaf.length > 1) {
        add(`paths[${i}].vm`, `is missing: the leaf "${leaf}" hosts ${onLeaf.length} VMs (${onLeaf.join(', ')}); set vm: to the one this path goes through`);
      }
    }

    const receiver = isRecord(raw.receiver) ? raw.receiver : {};
    const stream = isRecord(raw.stream) ? raw.stream : {};
    const ip = str(receiver.ip);
    const ipProblem = ip === undefined ? undefined : receiverIpProblem(ip);
    if (ipProblem) add(`paths[${i}].receiver.ip`, ipProblem);
    const src = str(stream.srcIp);
    const srcProblem = src === undefined ? undefined : sourceIpProblem(src);
    if (srcProblem) add(`paths[${i}].stream.srcIp`, srcProblem);

    const explicit = str(raw.id);
    const port = stream.udpPort;
    const id = explicit ?? (leaf !== undefined && typeof port === 'number' ? `${leaf}-${port}` : undefined);
    if (id === undefined) return;
    const first = pathIds.get(id);
    if (first !== undefined) {
      const how = explicit === undefined ? ' (defaulted from leaf and udpPort)' : '';
      add(`paths[${i}].id`, `duplicate path id "${id}"${how} (also paths[${first}]); set a distinct id on one of them`);
    } else pathIds.set(id, i);
  });

  // Reachability is only meaningful once the graph itself is sound: named, unique nodes,
  // readable links between them and one root. Pruning is what decides it (a leaf behind a
  // dangling branch stays reachable, a leaf behind a failed node may not).
  const everyNodeNamed = nodes.every((n) => n.id !== undefined);
  if (everyNodeNamed && idsUnique && linksSound && roots.length === 1) {
    const graphNodes: GraphNode[] = nodes.map((n) => ({
      id: n.id as string,
      role: n.role === 'invalid' ? undefined : n.role,
      failed: n.failed,
    }));
    problems.push(...pruneIndexed(buildGraph(graphNodes, usableLinks)).problems);
  }

  return problems;
}

function dedupe(problems: readonly TopologyProblem[]): TopologyProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const SECTION_ORDER = ['topology', 'nodes', 'links', 'vms', 'paths'];

/** Sort problems the way the file reads (nodes, links, vms, paths; by index), stably. */
function inFileOrder(problems: readonly TopologyProblem[]): TopologyProblem[] {
  const rank = (p: TopologyProblem): [number, number] => {
    const m = /^([a-z]+)(?:\[(\d+)\])?/i.exec(p.path);
    const section = m ? SECTION_ORDER.indexOf(m[1]) : -1;
    return [section === -1 ? SECTION_ORDER.length : section, m?.[2] === undefined ? -1 : Number(m[2])];
  };
  return problems
    .map((p, i) => ({ p, i, r: rank(p) }))
    .sort((x, y) => x.r[0] - y.r[0] || x.r[1] - y.r[1] || x.i - y.i)
    .map((x) => x.p);
}
