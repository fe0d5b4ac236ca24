/**
 * `vpm preview --stack S --markdown`: runs `pulumi preview` through the Automation API (the
 * same inline program as `npm run pulumi`) and turns its engine events into a comment fit for
 * a pull request:
 *   - what will be created, updated, replaced or deleted, grouped by hypervisor (a FlowPath
 *     touches every hop's host, a GreTunnel both ends, a MigratedDomain its old and new host);
 *   - the flows that change on each hop (rules added, removed, and shared ones that stay:
 *     two paths with the same rule on a hop share one group bucket, so nothing changes there);
 *   - the migrations that will happen (MigratedDomain updates whose host changes), with the
 *     LIME order the engine will follow (new path, migrate, old path deleted), and a loud
 *     warning if a domain would be replaced instead;
 *   - redundancy warnings computed on the new tree: nodes and tree links whose failure cuts a
 *     path's leaf off the root even with the redundancy links, redundancy links added or
 *     removed, pruned nodes.
 * collectPreview does the I/O; renderPreviewMarkdown is pure (unit-tested on recorded events).
 *
 * In CI, against the lab (the stack deployed from the main branch, the pull request's code
 * built): `npx tsc -p tsconfig.json && node dist/cli/vpm.js preview --stack lab --markdown
 * --out preview.md`, then post preview.md as the pull request comment. A preview changes
 * nothing on the hosts or in the state.
 */
import type { EngineEvent } from '@pulumi/pulumi/automation';
import { connectionFromState, connectionKey, urnName, type Link, type StackModel } from './model';
import { childIdOf, readBridge, readDomain, readFlowPath, readTunnel, resourceKind } from '../contracts';
import { DEFAULT_PROGRAM, readStack, selectStack, stackOutputsOf, unsecret } from './pulumi';
import { modelOf } from './stack';
import { LEGEND, mermaidBlock } from './picture/mermaid';
import { pictureOfOutputs, type TreePicture } from './picture/model';

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly oldInputs?: Record<string, unknown>;
  readonly oldOutputs?: Record<string, unknown>;
  readonly newInputs?: Record<string, unknown>;
}

export interface PreviewData {
  readonly stack: string;
  readonly takenAt: string;
  readonly changeSummary: Record<string, number>;
  readonly steps: readonly PreviewStep[];
  /** Stack outputs now, and as the preview computes them (unknowns missing). */
  readonly oldOutputs: Record<string, unknown>;
  readonly newOutputs: Record<string, unknown>;
  /** Host names by connection key, from the current state (connections of new hosts fall back to their address). */
  readonly hostNames: Record<string, string>;
  /** Roles of the current nodes (for headings). */
  readonly roles: Record<string, string>;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const kind = resourceKind;

/** Turns engine events into steps and the new stack outputs (pure). */
export function stepsFromEvents(events: readonly EngineEvent[]): { steps: PreviewStep[]; newOutputs: Record<string, unknown>; summary?: Record<string, number> } {
  const steps: PreviewStep[] = [];
  let newOutputs: Record<string, unknown> = {};
  let summary: Record<string, number> | undefined;
  for (const e of events) {
    const pre = e.resourcePreEvent?.metadata;
    if (pre) {
      if (pre.type.startsWith('pulumi:providers:') || pre.type === 'pulumi:pulumi:Stack') continue;
      steps.push({
        op: pre.op,
        urn: pre.urn,
        type: pre.type,
        name: urnName(pre.urn),
        ...(pre.old?.inputs ? { oldInputs: pre.old.inputs } : {}),
        ...(pre.old?.outputs ? { oldOutputs: pre.old.outputs } : {}),
        ...(pre.new?.inputs ? { newInputs: pre.new.inputs } : {}),
      });
    }
    const outs = e.resOutputsEvent?.metadata;
    if (outs && outs.type === 'pulumi:pulumi:Stack' && outs.new?.outputs) newOutputs = unsecret(outs.new.outputs) as Record<string, unknown>;
    if (e.summaryEvent) summary = e.summaryEvent.resourceChanges as Record<string, number>;
  }
  return { steps, newOutputs, ...(summary ? { summary } : {}) };
}

/** Runs the preview (no change to the hosts or the state). */
export async function collectPreview(stackName: string, options: { program?: string } = {}): Promise<PreviewData> {
  const stack = await selectStack(stackName, { program: options.program ?? DEFAULT_PROGRAM });
  const snapshot = await readStack(stack);
  const model = snapshot.resources.length ? modelOf(snapshot) : undefined;
  const events: EngineEvent[] = [];
  const result = await stack.preview({ onEvent: (e) => events.push(e) });
  const { steps, newOutputs, summary } = stepsFromEvents(events);
  return {
    stack: stackName,
    takenAt: new Date().toISOString(),
    changeSummary: (result.changeSummary as Record<string, number>) ?? summary ?? {},
    steps,
    oldOutputs: stackOutputsOf(snapshot.resources),
    newOutputs,
    hostNames: model ? hostNamesOf(model) : {},
    roles: model ? Object.fromEntries(model.nodes.map((n) => [n.id, n.role])) : {},
  };
}

export function hostNamesOf(model: StackModel): Record<string, string> {
  return Object.fromEntries(model.hosts.map((h) => [connectionKey(h.connection), h.name]));
}

export async function previewMarkdown(stackName: string, options: { program?: string } = {}): Promise<string> {
  return renderPreviewMarkdown(await collectPreview(stackName, options));
}

// ---------------------------------------------------------------------------------------
// Analysis (pure).

interface Touch {
  readonly host: string;
  readonly step: PreviewStep;
  readonly detail: string;
}

interface HopFlows {
  node: string;
  host: string;
  added: Map<string, string[]>; // rule -> paths
  removed: Map<string, string[]>;
  kept: Map<string, string[]>;
}

export interface Migration {
  readonly vm: string;
  readonly from: string;
  readonly to: string;
  readonly pathsCreated: readonly string[];
  readonly pathsDeleted: readonly string[];
  readonly replace: boolean;
}

export interface RedundancyWarning {
  readonly kind: 'single-node' | 'single-link' | 'no-redundancy' | 'redundancy-added' | 'redundancy-removed' | 'pruned' | 'replace';
  readonly text: string;
}

const CREATES = new Set(['create', 'create-replacement', 'import']);
const DELETES = new Set(['delete', 'delete-replaced', 'discard', 'remove-pending-replace']);
const UPDATES = new Set(['update', 'replace']);
const OP_MARK: Record<string, string> = {
  create: '+ create',
  'create-replacement': '+- replace (create new)',
  replace: '+- replace',
  'delete-replaced': '-+ replace (delete old)',
  update: '~ update',
  delete: '- delete',
  read: 'read',
  refresh: 'refresh',
  import: '= import',
  discard: '- discard',
};

function hostName(data: PreviewData, connection: unknown, fallback: string): string {
  const c = connectionFromState(connection);
  if (!c) return fallback;
  return data.hostNames[connectionKey(c)] ?? fallback;
}

function pathIdOf(s: PreviewStep, which: 'old' | 'new'): string {
  const i = which === 'old' ? (s.oldInputs ?? s.oldOutputs) : s.newInputs;
  return str(i?.pathId) ?? childIdOf(s.name, 'path') ?? s.name;
}

/** The hops (node, host, rules) of a FlowPath's inputs. */
function hopsOf(data: PreviewData, inputs: Record<string, unknown> | undefined): Array<{ node: string; host: string; rules: string[] }> {
  if (!inputs) return [];
  const fp = readFlowPath(inputs);
  const rulesBy = new Map<string, string[]>();
  for (const f of fp.flows) {
    if (f.node) rulesBy.set(f.node, [...f.rules]);
  }
  return fp.hops.map((h) => {
    const node = h.node ?? '?';
    return { node, host: hostName(data, h.connection, node), rules: rulesBy.get(node) ?? [] };
  });
}

function changedKeys(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): string[] {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  return [...keys].filter((k) => !k.startsWith('__') && JSON.stringify(a?.[k]) !== JSON.stringify(b?.[k])).sort();
}

/** Which hosts each step touches, and what it does there. */
export function touchesOf(data: PreviewData): Touch[] {
  const out: Touch[] = [];
  for (const s of data.steps) {
    if (s.op === 'same' || s.op === 'read' || s.op === 'refresh') continue;
    const k = kind(s.type);
    const inputs = s.newInputs ?? s.oldInputs ?? s.oldOutputs ?? {};
    if (k === 'OvsBridge') {
      const node = childIdOf(s.name, 'bridge') ?? s.name;
      const bridge = readBridge(inputs);
      const what = s.op === 'update' ? `bridge ${bridge.name ?? ''} changes: ${changedKeys(s.oldInputs, s.newInputs).join(', ')}` : `bridge ${bridge.name ?? ''}`;
      out.push({ host: hostName(data, bridge.connection, node), step: s, detail: what });
    } else if (k === 'GreTunnel') {
      const tunnel = readTunnel(inputs);
      for (const [e = {}, o = {}] of [
        [tunnel.a, tunnel.b],
        [tunnel.b, tunnel.a],
      ]) {
        out.push({ host: hostName(data, e.connection, '?'), step: s, detail: `GRE port ${e.portName ?? '?'} to ${hostName(data, o.connection, e.remoteIp ?? '?')}` });
      }
    } else if (k === 'FlowPath') {
      const oldHops = hopsOf(data, s.oldInputs ?? s.oldOutputs);
      const newHops = hopsOf(data, s.newInputs);
      const hosts = new Set([...oldHops, ...newHops].map((h) => h.host));
      for (const host of hosts) {
        const nodes = [...new Set([...oldHops, ...newHops].filter((h) => h.host === host).map((h) => h.node))];
        const id = DELETES.has(s.op) ? pathIdOf(s, 'old') : pathIdOf(s, 'new');
        out.push({ host, step: s, detail: `path ${id} at ${nodes.join(', ')}` });
      }
    } else if (k === 'MigratedDomain') {
      const oldHost = str(s.oldInputs?.host ?? s.oldOutputs?.host);
      const newHost = str(s.newInputs?.host);
      const vm = readDomain(inputs).name ?? s.name;
      if (UPDATES.has(s.op) && oldHost && newHost && oldHost !== newHost) {
        out.push({ host: oldHost, step: s, detail: `VM ${vm} migrates away to ${newHost}` });
        out.push({ host: newHost, step: s, detail: `VM ${vm} arrives from ${oldHost}` });
      } else {
        const what = s.op === 'update' ? `VM ${vm} changes: ${changedKeys(s.oldInputs, s.newInputs).join(', ')}` : `VM ${vm}`;
        out.push({ host: newHost ?? oldHost ?? '?', step: s, detail: what });
      }
    } else {
      out.push({ host: '(no host)', step: s, detail: k });
    }
  }
  return out;
}

/** Rules added / removed / kept on each hop by the FlowPath steps. */
export function flowChanges(data: PreviewData): HopFlows[] {
  const byNode = new Map<string, HopFlows>();
  const hop = (node: string, host: string) => {
    if (!byNode.has(node)) byNode.set(node, { node, host, added: new Map(), removed: new Map(), kept: new Map() });
    return byNode.get(node)!;
  };
  const before = new Map<string, Map<string, string[]>>(); // node -> rule -> paths (of changed paths, old side)
  const after = new Map<string, Map<string, string[]>>();
  const add = (m: Map<string, Map<string, string[]>>, node: string, rule: string, path: string) => {
    if (!m.has(node)) m.set(node, new Map());
    const r = m.get(node)!;
    r.set(rule, [...(r.get(rule) ?? []), path]);
  };
  // Unchanged paths keep their rules: they count on both sides.
  for (const s of data.steps.filter((x) => kind(x.type) === 'FlowPath')) {
    const oldSide = DELETES.has(s.op) || UPDATES.has(s.op) || s.op === 'same';
    const newSide = CREATES.has(s.op) || UPDATES.has(s.op) || s.op === 'same';
    const sides: Array<[boolean, Map<string, Map<string, string[]>>, Record<string, unknown> | undefined, string]> = [
      [oldSide, before, s.oldInputs ?? s.oldOutputs, pathIdOf(s, 'old')],
      [newSide, after, s.newInputs ?? s.oldInputs, pathIdOf(s, s.newInputs ? 'new' : 'old')],
    ];
    for (const [on, side, inputs, id] of sides) {
      if (!on) continue;
      for (const h of hopsOf(data, inputs)) {
        hop(h.node, h.host);
        for (const r of h.rules) add(side, h.node, r, id);
      }
    }
  }
  for (const [node, h] of byNode) {
    const b = before.get(node) ?? new Map<string, string[]>();
    const a = after.get(node) ?? new Map<string, string[]>();
    for (const [rule, paths] of a) {
      if (b.has(rule)) h.kept.set(rule, [...new Set([...b.get(rule)!, ...paths])]);
      else h.added.set(rule, paths);
    }
    for (const [rule, paths] of b) if (!a.has(rule)) h.removed.set(rule, paths);
  }
  // Hops of changed paths only (a hop of unchanged paths alone has nothing to show).
  return [...byNode.values()]
    .filter((h) => h.added.size || h.removed.size || [...h.kept.values()].some((ps) => ps.length > 1))
    .sort((x, y) => x.node.localeCompare(y.node, 'en', { numeric: true }));
}

/** The sshd a connection in step inputs reaches (host, port, namespace), if it names one. */
function switchOf(connection: unknown): string | undefined {
  const c = isObj(connection) ? connection : undefined;
  if (!c || typeof c.host !== 'string') return undefined;
  return connectionKey({ host: c.host, ...(typeof c.port === 'number' ? { port: c.port } : {}), ...(typeof c.netns === 'string' ? { netns: c.netns } : {}) });
}

/** Whether a FlowPath's inputs send the stream through VM port `vmPort` on the switch `at`. */
function goesThrough(inputs: Record<string, unknown> | undefined, vmPort: number, at: string): boolean {
  return readFlowPath(inputs).hops.some((h) => h.vmPort === vmPort && switchOf(h.connection) === at);
}

/**
 * The live migrations of a preview and, for each, the paths of that VM the engine runs around
 * it. A VM's port number is the same on every host (components/streaming-tree/ports.ts), and a
 * path that goes through a VM carries that port in a hop on the VM's host. So the paths created
 * first are the FlowPath creations that go through the VM's port on its new host (the domain
 * depends on them: the clone), and the paths deleted after are the FlowPath deletions that went
 * through it on its old host (paths that left the program are deleted at the end of the update).
 * Matching by port and host, never by name: a path's name carries its leaf node, not the host.
 */
export function migrationsOf(data: PreviewData): Migration[] {
  const flowPaths = data.steps.filter((s) => kind(s.type) === 'FlowPath');
  const out: Migration[] = [];
  for (const s of data.steps.filter((x) => kind(x.type) === 'MigratedDomain')) {
    const old = s.oldInputs ?? s.oldOutputs;
    const from = str(old?.host);
    const to = str(s.newInputs?.host);
    if (!from || !to || from === to) continue;
    if (!UPDATES.has(s.op) && s.op !== 'create-replacement') continue; // delete-replaced: reported with its create-replacement
    const vm = str(s.newInputs?.name) ?? s.name;
    const network = isObj(s.newInputs?.network) ? s.newInputs.network : isObj(old?.network) ? old.network : {};
    const port = typeof network.ofport === 'number' ? network.ofport : undefined;
    const dest = switchOf(s.newInputs?.connection);
    const source = switchOf(old?.connection);
    const created = flowPaths.filter((f) => CREATES.has(f.op) && port !== undefined && dest !== undefined && goesThrough(f.newInputs, port, dest));
    const deleted = flowPaths.filter((f) => DELETES.has(f.op) && port !== undefined && source !== undefined && goesThrough(f.oldInputs ?? f.oldOutputs, port, source));
    out.push({
      vm,
      from,
      to,
      pathsCreated: created.map((f) => pathIdOf(f, 'new')),
      pathsDeleted: deleted.map((f) => pathIdOf(f, 'old')),
      replace: s.op !== 'update',
    });
  }
  return out;
}

function linksOf(v: unknown): Link[] {
  return Array.isArray(v) ? v.filter(isObj).flatMap((l) => (typeof l.a === 'string' && typeof l.b === 'string' ? [{ a: l.a, b: l.b }] : [])) : [];
}

const linkKey = (l: Link) => [l.a, l.b].sort().join('-');

/** Whether `to` is reachable from `from` over `links` without `skipNode` / `skipLink`. */
function reachable(links: readonly Link[], from: string, to: string, skipNode?: string, skipLink?: string): boolean {
  if (from === skipNode || to === skipNode) return false;
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length) {
    const n = queue.shift()!;
    if (n === to) return true;
    for (const l of links) {
      if (skipLink && linkKey(l) === skipLink) continue;
      const next = l.a === n ? l.b : l.b === n ? l.a : undefined;
      if (next && next !== skipNode && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

/** Redundancy warnings on the new tree (and what changes against the current one). */
export function redundancyWarnings(data: PreviewData): RedundancyWarning[] {
  const out: RedundancyWarning[] = [];
  const o = Object.keys(data.newOutputs).length ? data.newOutputs : data.oldOutputs;
  const tree = linksOf(o.tree);
  const redundancy = linksOf(o.redundancy);
  const root = str(o.root);
  const paths = (Array.isArray(o.paths) ? o.paths.filter(isObj) : []).map((p) => ({
    name: str(p.name) ?? '?',
    nodes: Array.isArray(p.nodes) ? p.nodes.filter((n): n is string => typeof n === 'string') : [],
  }));
  const all = [...tree, ...redundancy];
  if (tree.length && redundancy.length === 0) out.push({ kind: 'no-redundancy', text: 'the tree has no redundancy links: any link or switch failure cuts off the nodes below it.' });
  if (root) {
    const nodeCut = new Map<string, string[]>();
    const linkCut = new Map<string, string[]>();
    for (const p of paths) {
      const leaf = p.nodes[p.nodes.length - 1];
      if (!leaf || leaf === root) continue;
      for (const n of p.nodes.slice(1, -1)) if (!reachable(all, root, leaf, n)) nodeCut.set(n, [...(nodeCut.get(n) ?? []), p.name]);
      for (let i = 0; i + 1 < p.nodes.length; i++) {
        const k = linkKey({ a: p.nodes[i]!, b: p.nodes[i + 1]! });
        if (!reachable(all, root, leaf, undefined, k)) linkCut.set(k, [...(linkCut.get(k) ?? []), p.name]);
      }
    }
    for (const [n, ps] of nodeCut) out.push({ kind: 'single-node', text: `node ${n} is a single point of failure: no redundancy link bypasses it for ${ps.map((p) => `\`${p}\``).join(', ')}.` });
    for (const [l, ps] of linkCut) out.push({ kind: 'single-link', text: `tree link ${l} has no backup: if it fails, ${ps.map((p) => `\`${p}\``).join(', ')} stop(s).` });
  }
  const oldRed = new Set(linksOf(data.oldOutputs.redundancy).map(linkKey));
  const newRed = new Set(redundancy.map(linkKey));
  if (Object.keys(data.newOutputs).length && Object.keys(data.oldOutputs).length) {
    for (const l of newRed) if (!oldRed.has(l)) out.push({ kind: 'redundancy-added', text: `redundancy link ${l} is added.` });
    for (const l of oldRed) if (!newRed.has(l)) out.push({ kind: 'redundancy-removed', text: `redundancy link ${l} is removed: failures there are no longer covered.` });
  }
  const pruned = Array.isArray(o.pruned) ? o.pruned.filter((x): x is string => typeof x === 'string') : [];
  if (pruned.length) out.push({ kind: 'pruned', text: `pruned (dangling branches, left out of the tree): ${pruned.join(', ')}.` });
  for (const s of data.steps) {
    if ((s.op === 'replace' || s.op === 'create-replacement') && kind(s.type) === 'MigratedDomain') {
      out.push({ kind: 'replace', text: `VM ${s.name} will be REPLACED (destroyed and re-created), not live-migrated.` });
    }
    if ((s.op === 'replace' || s.op === 'create-replacement') && kind(s.type) === 'FlowPath') {
      out.push({ kind: 'replace', text: `path ${s.name} will be replaced in place: the stream stops on it between delete and create.` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Markdown.

const code = (s: string) => '`' + s.replace(/`/g, "'") + '`';
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The tree before and after as Mermaid pictures (monitor/picture): paths whose FlowPath is
 * created or deleted drawn thick, moving VMs marked. "After" takes what the preview computed
 * and falls back to "before" for outputs the preview leaves unknown; a moving VM is drawn at
 * its new node.
 */
export function treeSection(data: PreviewData, migrations: readonly Migration[] = migrationsOf(data)): string[] {
  const before = pictureOfOutputs(data.oldOutputs, data.roles);
  const computed = pictureOfOutputs(data.newOutputs, data.roles);
  const moves = migrations.map((m) => ({ vm: m.vm, from: m.from, to: m.to }));
  const nodeOfHost = (host: string) => before.nodes.find((n) => n.id === host)?.id ?? host;
  const after: TreePicture = {
    ...before,
    ...(computed.nodes.length ? { nodes: computed.nodes, tree: computed.tree, redundancy: computed.redundancy, pruned: computed.pruned, ...(computed.root ? { root: computed.root } : {}) } : {}),
    paths: [...(computed.paths.length ? computed.paths : before.paths)],
    vms: computed.vms.length ? computed.vms : before.vms.map((v) => {
      const m = moves.find((x) => x.vm === v.name);
      return m ? { name: v.name, node: nodeOfHost(m.to) } : v;
    }),
  };
  if (!before.nodes.length && !after.nodes.length) return [];
  const flowPaths = data.steps.filter((s) => kind(s.type) === 'FlowPath');
  const created = new Set(flowPaths.filter((s) => CREATES.has(s.op) || s.op === 'replace').map((s) => childIdOf(s.name, 'path') ?? s.name));
  const deleted = new Set(flowPaths.filter((s) => DELETES.has(s.op) || s.op === 'replace').map((s) => childIdOf(s.name, 'path') ?? s.name));
  const out = ['### The tree', ''];
  if (before.nodes.length) out.push('**Before**', '', mermaidBlock(before, { changedPaths: deleted, movingVms: moves }, 'before'), '');
  out.push(before.nodes.length ? '**After**' : '**After** (a new stack)', '', mermaidBlock(after, { changedPaths: created, movingVms: moves }, 'after'), '', `<sub>${LEGEND}</sub>`, '');
  return out;
}

export function renderPreviewMarkdown(data: PreviewData): string {
  const lines: string[] = [];
  const cs = data.changeSummary;
  const parts = ['create', 'update', 'replace', 'delete']
    .filter((k) => (cs[k] ?? 0) > 0)
    .map((k) => `${cs[k]} to ${k}`);
  lines.push(`## VPM preview of stack ${code(data.stack)}`, '');
  lines.push(`${parts.length ? `**${parts.join(', ')}**` : '**no changes**'}, ${cs.same ?? 0} unchanged (\`pulumi preview\`, ${data.takenAt}).`, '');

  const migrations = migrationsOf(data);
  if (migrations.length) {
    lines.push('### Migrations', '');
    lines.push('| VM | from | to | paths created first | paths deleted after |', '|---|---|---|---|---|');
    for (const m of migrations) {
      lines.push(`| ${m.vm} | ${m.from} | ${m.to} | ${m.pathsCreated.map(code).join(', ') || '-'} | ${m.pathsDeleted.map(code).join(', ') || '-'} |`);
    }
    lines.push('');
    for (const m of migrations) {
      if (m.replace) lines.push(`> ⚠️ **${m.vm} is replaced, not migrated**: its guest restarts on ${m.to}.`, '');
      else {
        lines.push(
          `${m.vm}: live migration ${m.from} → ${m.to} as an update. Order: ${m.pathsCreated.length ? `create ${m.pathsCreated.map(code).join(', ')} (the stream is cloned to both leaves)` : 'no new path'}, ` +
            `migrate, ${m.pathsDeleted.length ? `then delete ${m.pathsDeleted.map(code).join(', ')}` : 'no path to delete'}.`,
          '',
        );
      }
    }
  }

  lines.push(...treeSection(data, migrations));

  const warnings = redundancyWarnings(data);
  if (warnings.length) {
    lines.push('### Redundancy warnings', '');
    for (const w of warnings) lines.push(`- ⚠️ ${w.text}`);
    lines.push('');
  }

  const touches = touchesOf(data);
  const hosts = [...new Set(touches.map((t) => t.host))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (hosts.length) {
    lines.push('### Changes by hypervisor', '');
    for (const h of hosts) {
      const role = data.roles[h];
      lines.push(`#### ${h}${role ? ` (${role})` : ''}`, '', '| change | resource | here |', '|---|---|---|');
      for (const t of touches.filter((x) => x.host === h)) {
        lines.push(`| ${OP_MARK[t.step.op] ?? t.step.op} | ${kind(t.step.type)} ${code(t.step.name)} | ${cell(t.detail)} |`);
      }
      lines.push('');
    }
  }

  const flows = flowChanges(data);
  if (flows.length) {
    lines.push('### Flows per hop', '');
    for (const f of flows) {
      const where = `**${f.node}**${f.host !== f.node ? ` on ${f.host}` : ''}`;
      if (!f.added.size && !f.removed.size) {
        for (const [r, ps] of f.kept) lines.push(`${where}: no change on the switch: ${code(r)} stays, shared by ${ps.map(code).join(', ')}.`, '');
        continue;
      }
      lines.push(where, '', '```diff');
      for (const [r, ps] of f.added) lines.push(`+ ${r}    # ${ps.join(', ')}`);
      for (const [r, ps] of f.removed) lines.push(`- ${r}    # ${ps.join(', ')}`);
      for (const [r, ps] of f.kept) lines.push(`  ${r}    # kept (shared by ${ps.join(', ')})`);
      lines.push('```', '');
    }
  }

  const changed = data.steps.filter((s) => s.op !== 'same');
  if (changed.length) {
    lines.push('<details><summary>All resource steps</summary>', '', '| step | type | name |', '|---|---|---|');
    for (const s of changed) lines.push(`| ${OP_MARK[s.op] ?? s.op} | ${kind(s.type)} | ${code(s.name)} |`);
    lines.push('', '</details>', '');
  }
  return lines.join('\n');
}
