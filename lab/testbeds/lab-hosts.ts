/**
 * A lab node's shell for tests and benches: runs argv in a hypervisor's namespace through
 * `labExec` and reads OVS state (bridges, VPM-owned rows, flows, leftovers).
 */
import { labExec } from '../exec';
import type { Inventory } from '../inventory';

/** A lab node's shell, bound to one inventory. */
export class LabHosts {
  constructor(readonly inventory: Inventory) {}

  /** Runs argv in node `name`; returns the result whatever the exit code. */
  exec(name: string, argv: readonly string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
    return labExec(name, argv, { inventory: this.inventory, ...(input !== undefined ? { input } : {}) });
  }

  /** Runs argv in node `name`; throws with its stderr unless it exits 0; returns trimmed stdout. */
  async must(name: string, argv: readonly string[], input?: string): Promise<string> {
    const r = await this.exec(name, argv, input);
    if (r.code !== 0) throw new Error(`${name}: ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout.trim();
  }

  /** `ovs-vsctl get TABLE RECORD col...`, one trimmed line per column. */
  async get(name: string, table: string, record: string, ...columns: string[]): Promise<string[]> {
    return (await this.must(name, ['ovs-vsctl', 'get', table, record, ...columns])).split('\n').map((l) => l.trim());
  }

  /** `ovs-vsctl list-br`. */
  async bridges(name: string): Promise<string[]> {
    return (await this.must(name, ['ovs-vsctl', 'list-br'])).split('\n').filter(Boolean);
  }

  /** Rows (name + external_ids) of TABLE that carry a vpm-owner mark. */
  async ownedRows(name: string, table: 'Bridge' | 'Port' | 'Interface'): Promise<Array<{ name: string; owner: string }>> {
    const out = await this.must(name, ['ovs-vsctl', '--format=json', '--columns=name,external_ids', 'find', table, 'external_ids:vpm-owner!=""']);
    const doc = JSON.parse(out) as { data: Array<[string, ['map', Array<[string, string]>]]> };
    return doc.data.map(([n, ids]) => ({ name: n, owner: Object.fromEntries(ids[1])['vpm-owner'] }));
  }

  /** `ovs-ofctl dump-flows BRIDGE` lines that show a flow (no header). */
  async flows(name: string, bridge: string): Promise<string[]> {
    const out = await this.must(name, ['ovs-ofctl', '-O', 'OpenFlow15', '--no-stats', 'dump-flows', bridge]);
    return out.split('\n').map((l) => l.trim()).filter((l) => l && !/^(NXST|OFPST)_FLOW reply/.test(l));
  }

  /**
   * Everything VPM-owned still on `name`: OVSDB rows with a vpm-owner mark and br0 flows with
   * a VPM cookie (they start with 0x56). Empty when the host is clean.
   */
  async vpmLeftovers(name: string): Promise<string[]> {
    const left: string[] = [];
    for (const table of ['Bridge', 'Port', 'Interface'] as const) {
      for (const row of await this.ownedRows(name, table)) left.push(`${table} ${row.name} (vpm-owner=${row.owner})`);
    }
    if ((await this.bridges(name)).includes('br0')) {
      for (const flow of await this.flows(name, 'br0')) if (/cookie=0x56/.test(flow)) left.push(`br0 flow ${flow}`);
    }
    return left.map((l) => `${name}: ${l}`);
  }
}
