/**
 * Lab facts for the streaming-tree end-to-end test: libvirt (through `virsh` in a
 * hypervisor's namespace, against that hypervisor's own libvirtd), the built program being
 * current, and topology files derived from the lab stack's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { labExec, type Inventory } from '../../lab';
import { loadTopologyFile } from '../../components/topology';
import { planTree } from '../../components/streaming-tree/plan';
import { PROJECT_ROOT } from './pulumi-stack';

function libvirtUri(inventory: Inventory, host: string): string {
  const h = inventory.hypervisors.find((x) => x.name === host);
  if (!h?.libvirtUri) throw new Error(`${host} has no libvirtd in the inventory (the lab must be built with libvirt)`);
  return h.libvirtUri;
}

/** `virsh domstate` on `host`'s libvirtd: "running", "shut off", ...; undefined when not defined there. */
export async function domState(inventory: Inventory, host: string, domain: string): Promise<string | undefined> {
  const r = await labExec(host, ['virsh', '-q', '-c', libvirtUri(inventory, host), 'domstate', domain], { inventory });
  if (r.code === 0) return r.stdout.trim().split('\n')[0]?.trim();
  if (/failed to get domain|Domain not found/i.test(r.stderr)) return undefined;
  throw new Error(`${host}: virsh domstate ${domain} exited ${r.code}: ${r.stderr.trim()}`);
}

/** `virsh list --all --name` on `host`'s libvirtd. */
export async function allDomains(inventory: Inventory, host: string): Promise<string[]> {
  const r = await labExec(host, ['virsh', '-q', '-c', libvirtUri(inventory, host), 'list', '--all', '--name'], { inventory });
  if (r.code !== 0) throw new Error(`${host}: virsh list exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

/**
 * Fails unless every compiled file exists and is at least as new as its source: Pulumi runs
 * the program and the providers from dist/, so a stale build would test old code.
 */
export function requireFreshBuild(sourceDirs: readonly string[]): void {
  const stale: string[] = [];
  for (const dir of sourceDirs) {
    for (const f of fs.readdirSync(path.join(PROJECT_ROOT, dir))) {
      if (!f.endsWith('.ts') || f.endsWith('.d.ts')) continue;
      const src = path.join(PROJECT_ROOT, dir, f);
      const out = path.join(PROJECT_ROOT, 'dist', dir, f.replace(/\.ts$/, '.js'));
      if (!fs.existsSync(out)) stale.push(`${path.relative(PROJECT_ROOT, out)} (missing)`);
      else if (fs.statSync(out).mtimeMs + 1000 < fs.statSync(src).mtimeMs) stale.push(`${path.relative(PROJECT_ROOT, out)} (older than ${dir}/${f})`);
    }
  }
  if (stale.length) throw new Error(`the build is missing or stale; run \`npx tsc -p tsconfig.json\`:\n  ${stale.join('\n  ')}`);
}

/**
 * The lab stack's topology (stacks/topologies/lab.yaml) plus `extra` nodes, links and paths,
 * written to `file`; returns the file.
 */
export function writeGrownTopology(
  file: string,
  extra: { nodes?: unknown[]; links?: unknown[]; paths?: unknown[] },
  base = path.join(PROJECT_ROOT, 'stacks', 'topologies', 'lab.yaml'),
): string {
  const doc = parseYaml(fs.readFileSync(base, 'utf8')) as { nodes: unknown[]; links: unknown[]; paths: unknown[] };
  doc.nodes = [...doc.nodes, ...(extra.nodes ?? [])];
  doc.links = [...doc.links, ...(extra.links ?? [])];
  doc.paths = [...doc.paths, ...(extra.paths ?? [])];
  fs.writeFileSync(file, `# ${path.basename(base)} grown by the streaming-tree e2e test\n${toYaml(doc)}`);
  return file;
}

/**
 * The VPM resources ("Type name") the lab stack's program creates for a topology file and a
 * placement, from the same pure plan the StreamingTree component uses (names as in
 * components/streaming-tree/component.ts, component name "tree").
 */
export function plannedResources(inventory: Inventory, topologyFile: string, placement: Record<string, string> = {}): string[] {
  const hosts = Object.fromEntries(inventory.hypervisors.map((h) => [h.name, { underlayIp: h.ip, underlayMac: h.mac }]));
  const plan = planTree(loadTopologyFile(topologyFile), hosts, placement);
  // Tunnels of redundancy links, where the plan has them (failover).
  const tunnels = [...plan.tunnels, ...((plan as { redundancyTunnels?: { name: string }[] }).redundancyTunnels ?? [])];
  return [
    ...plan.bridges.map((b) => `OvsBridge tree-bridge-${b.node}`),
    ...tunnels.map((t) => `GreTunnel tree-tunnel-${t.name}`),
    ...plan.paths.map((p) => `FlowPath tree-path-${p.name}`),
    ...plan.vms.map((v) => `MigratedDomain tree-vm-${v.name}`),
  ].sort();
}

/** `virsh domjobinfo` on `host`: the job type ("None", "Unbounded", ...); undefined when the domain is not there. */
export async function domJobType(inventory: Inventory, host: string, domain: string): Promise<string | undefined> {
  const r = await labExec(host, ['virsh', '-q', '-c', libvirtUri(inventory, host), 'domjobinfo', domain], { inventory });
  if (r.code !== 0) {
    if (/failed to get domain|Domain not found/i.test(r.stderr)) return undefined;
    throw new Error(`${host}: virsh domjobinfo ${domain} exited ${r.code}: ${r.stderr.trim()}`);
  }
  const m = /^Job type:\s*(\S+)/m.exec(r.stdout);
  if (!m) throw new Error(`${host}: virsh domjobinfo ${domain}: no "Job type" in ${JSON.stringify(r.stdout)}`);
  return m[1];
}
