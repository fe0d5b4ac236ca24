/**
 * OvsBridge + GreTunnel end to end: the real Pulumi CLI (`npm run -s pulumi`, Automation API
 * driver, local file backend) runs dist/stacks/programs/bridge-tunnel.js (br1 on h1 and h2,
 * one tunnel) against a 2-hypervisor lab: up, refresh without changes, drift by hand, refresh
 * sees it, up repairs it, preview without changes, destroy leaves nothing VPM-owned, stack rm.
 *
 * Needs root, the lab tools and the Pulumi CLI (`npm run setup`) and the compiled program
 * (`npx tsc -p tsconfig.json`); any of them missing FAILS the suite, it never skips.
 */
import * as fs from 'node:fs';
import type { Inventory } from '../../lab';
import { LabHosts, acquireLab, releaseLab, requireLabPrerequisites } from '../support/lab';
import { requireBuilt } from '../support/serialised-provider';
import { PULUMI_CLI, Stack, ok, pulumi, summaryOf } from '../support/pulumi-stack';

const PROGRAM = 'dist/stacks/programs/bridge-tunnel.js';
const STACK = `e2e-bt-${process.pid}`;

/** A program command on this test's stack (up, refresh, preview, destroy). */
const program = (command: string, ...flags: string[]) => pulumi([command, '--stack', STACK, '--program', PROGRAM, ...flags]);
/** The backend's leftovers of this run's unique stack, after `stack rm`. */
const forgetStackFiles = () => new Stack(STACK).forgetFiles();

jest.setTimeout(180_000);

describe(`pulumi up/refresh/preview/destroy of the bridge-tunnel program (stack ${STACK})`, () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let weStartedIt = false;
  let stackCreated = false;
  let destroyed = false;
  const owner = (name: string) => `vpm/${STACK}/${name}`;

  beforeAll(async () => {
    requireLabPrerequisites();
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    requireBuilt(PROGRAM, 'dist/providers/ovs-bridge/provider.js', 'dist/providers/gre-tunnel/provider.js');
    inventory = await acquireLab({ hypervisors: 2, receivers: 0 });
    weStartedIt = true;
    lab = new LabHosts(inventory);
  }, 6 * 60_000);

  afterAll(async () => {
    try {
      // A failed test must not leave a stack (or hosts) behind.
      if (stackCreated) await new Stack(STACK).tearDown(!destroyed, '--program', PROGRAM);
    } finally {
      if (weStartedIt) await releaseLab();
    }
  }, 240_000);

  test('up creates br1 on h1 and h2 and the tunnel between them', async () => {
    stackCreated = true;
    const up = summaryOf(ok(await program('up', '--json')));
    expect(up.changeSummary).toMatchObject({ create: 4 }); // the stack + 2 bridges + 1 tunnel
    expect(up.outputs?.tunnelOfports).toEqual([12, 11]);

    for (const [h, peer] of [['h1', 'h2'], ['h2', 'h1']]) {
      const [failMode, dpType, ids] = await lab.get(h, 'Bridge', 'br1', 'fail_mode', 'datapath_type', 'external_ids:vpm-owner');
      expect([failMode, dpType, ids]).toEqual(['secure', 'netdev', `"${owner(`br1-${h}`)}"`]);
      expect(await lab.get(h, 'Interface', 'patch-ovl', 'options', 'ofport')).toEqual(['{peer=patch-phy}', '1']);
      const peerIp = inventory.hypervisors.find((x) => x.name === peer)!.ip;
      const ofport = String(10 + Number(peer.slice(1)));
      expect(await lab.get(h, 'Interface', `gre-${peer}`, 'type', 'options:remote_ip', 'ofport')).toEqual(['gre', `"${peerIp}"`, ofport]);
      expect(await lab.get(h, 'Port', `gre-${peer}`, 'external_ids:vpm-owner')).toEqual([`"${owner('gre-h1-h2')}"`]);
      expect((await lab.flows(h, 'br0')).filter((f) => /cookie=0x56/.test(f))).toHaveLength(1);
    }
  });

  test('refresh --expect-no-changes: the hosts match the state', async () => {
    ok(await program('refresh', '--expect-no-changes'));
  });

  test('a tunnel port deleted by hand is drift: refresh reports an update, up puts the port back', async () => {
    await lab.must('h2', ['ovs-vsctl', 'del-port', 'br1', 'gre-h1']);

    const strict = await program('refresh', '--expect-no-changes');
    expect(strict.code).not.toBe(0); // the drift is a change

    const refresh = summaryOf(ok(await program('refresh', '--json')));
    expect(refresh.changeSummary).toMatchObject({ update: 1 });

    const up = summaryOf(ok(await program('up', '--json')));
    expect(up.changeSummary).toMatchObject({ update: 1 });
    expect(up.changeSummary.create ?? 0).toBe(0);
    expect(up.changeSummary.replace ?? 0).toBe(0);
    expect(await lab.get('h2', 'Interface', 'gre-h1', 'options:remote_ip', 'ofport')).toEqual([`"${inventory.hypervisors[0].ip}"`, '11']);
  });

  test('preview --expect-no-changes after the repair', async () => {
    ok(await program('preview', '--expect-no-changes'));
  });

  test('destroy leaves no VPM-owned bridge or port and no VPM cookie on br0; stack rm', async () => {
    ok(await program('destroy'));
    destroyed = true;
    for (const h of inventory.hypervisors.map((x) => x.name)) {
      expect(await lab.bridges(h)).toEqual(['br0']);
      expect(await lab.vpmLeftovers(h)).toEqual([]);
    }
    ok(await pulumi(['stack', 'rm', STACK, '--yes']));
    stackCreated = false;
    const ls = ok(await pulumi(['stack', 'ls', '--json']));
    expect(ls.stdout).not.toContain(`"${STACK}"`);
    forgetStackFiles();
  });
});
