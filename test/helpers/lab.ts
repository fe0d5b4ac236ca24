/**
 * Shared helpers for tests that drive the real lab: preconditions that FAIL (never skip) with
 * what to install, a lab-up on the suite's own lab (jest.config.js), and OVS inspection
 * through `labExec`.
 */
import { LabError, labDown, labExec, labUp, requireLabTools, type Inventory } from '../../lab';
import { which } from '../../lab/tools';

const quiet = (): void => {};

/**
 * Fails (throws) unless this runs as root with every lab tool and the extra tools installed.
 * `extra` maps a program to the Debian package that provides it.
 */
export function requireLabPrerequisites(extra: Record<string, string> = {}): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('this test drives the lab and must run as root (it creates network namespaces)');
  }
  requireLabTools(); // ToolMissingError naming the tool and `npm run setup`
  for (const [tool, pkg] of Object.entries(extra)) {
    if (!which(tool)) throw new Error(`'${tool}' is not installed: run \`npm run setup\` (Debian package ${pkg})`);
  }
}

const BUSY = /already running|namespaces exist without an inventory/;

/**
 * `labUp` of the suite's own lab. The suite's lab is its own (jest.config.js), so a running one is a
 * leftover of a killed run of this checkout: by default that fails at once with the command
 * that removes it (`waitMs` > 0 waits for it instead). Never tears down a lab it did not start.
 */
export async function acquireLab(
  options: { hypervisors: number; receivers?: number },
  { waitMs = 0, retryMs = 30_000, log = (l: string) => process.stderr.write(`${l}\n`) } = {},
): Promise<Inventory> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await labUp({ hypervisors: options.hypervisors, receivers: options.receivers ?? 0, log: quiet });
    } catch (e) {
      if (e instanceof LabError && BUSY.test(e.message) && Date.now() + retryMs > deadline) {
        throw new LabError(
          `${e.message}\nThe test suite's own lab is busy: another \`npm test\` of this checkout runs, or a killed one left it. ` +
            `Remove it with: VPM_LAB_NS_PREFIX=${process.env.VPM_LAB_NS_PREFIX ?? ''} VPM_LAB_DIR=${process.env.VPM_LAB_DIR ?? ''} npx vpm lab down`,
        );
      }
      if (!(e instanceof LabError) || !BUSY.test(e.message)) throw e;
      log(`${e.message}; waiting ${retryMs / 1000} s for it to go away`);
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}

export async function releaseLab(): Promise<void> {
  await labDown({ log: quiet });
}

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
