/**
 * Labs per stack (issue #16): the prefix and folder come from the stack name alone, never
 * collide with the plain lab's or other engineers' `vpm…-` prefixes, and no lab's namespaces
 * are ever taken for another's; the lab's size comes from the stack's topology.
 */
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTopology } from '../../../components/topology';
import { LabSite, NS_PREFIX_RE, stackLabPrefix } from '../../../lab/names';
import { labSizeOf, stackLabSize } from '../../../lab/stack-lab';

const stackName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/);

describe('stack lab names', () => {
  test('readable, valid, stable prefixes; folder .labs/<stack>', () => {
    expect(stackLabPrefix('lab')).toMatch(/^slab[0-9a-f]{4}-$/);
    expect(stackLabPrefix('pr-42')).toMatch(/^spr42[0-9a-f]{4}-$/);
    expect(stackLabPrefix('pr-42')).toBe(stackLabPrefix('pr-42'));
    expect(stackLabPrefix('pr-42')).not.toBe(stackLabPrefix('pr-4-2')); // same letters, other hash
    expect(stackLabPrefix('lab', '/srv/a/vpm')).not.toBe(stackLabPrefix('lab', '/srv/b/vpm')); // two clones, two labs
    const site = LabSite.forStack('pr-42', '/repo');
    expect(site.paths.dir).toBe('/repo/.labs/pr-42');
    expect(site.paths.hostsFile).toBe('/repo/.labs/pr-42/hosts.yaml');
    expect(site.underlayNs).toBe(`${stackLabPrefix('pr-42', '/repo')}ul`);
    expect(site.hypervisor(3)).toMatchObject({ name: 'h3', netns: `${stackLabPrefix('pr-42', '/repo')}h3`, ip: '10.250.0.13' });
    expect(site.receiver(1)).toMatchObject({ netns: `${stackLabPrefix('pr-42', '/repo')}r1`, ip: '10.250.0.201' });
  });

  test('every stack prefix is a valid prefix and none is a vpm…- prefix (plain lab, tests, other labs)', () => {
    fc.assert(
      fc.property(stackName, (s) => {
        const p = stackLabPrefix(s);
        expect(p).toMatch(NS_PREFIX_RE);
        for (const taken of ['vpmlab-', 'vpmnb-', 'vpmnc-', 'vpmnd-', 'vpmne-', 'vpmbench-']) expect(p).not.toBe(taken);
        expect(p.startsWith('vpm')).toBe(false);
      }),
    );
  });

  test("one lab never owns another lab's namespaces", () => {
    fc.assert(
      fc.property(stackName, stackName, fc.constantFrom('ul', 'h1', 'h16', 'h64', 'r8'), (a, b, node) => {
        const A = LabSite.forStack(a, '/r');
        const B = LabSite.forStack(b, '/r');
        fc.pre(A.prefix !== B.prefix);
        expect(A.ownsNamespace(`${B.prefix}${node}`)).toBe(false);
        expect(A.ownsNamespace(`${A.prefix}${node}`)).toBe(true);
        expect(A.ownsNamespace(`vpmlab-${node}`)).toBe(false);
      }),
    );
  });

  test('bad stack names are refused with the rule', () => {
    expect(() => stackLabPrefix('../etc')).toThrow(/stack name "..\/etc" is invalid: use letters, digits/);
    expect(() => stackLabPrefix('a;b')).toThrow(/is invalid/);
  });
});

describe('lab size from the topology', () => {
  const topo = (hosts: string[], receivers: string[]) =>
    parseTopology({
      nodes: hosts.map((h, i) => ({ id: `n${i}`, role: i === 0 ? 'root' : 'leaf', host: h })),
      links: hosts.slice(1).map((_, i) => ({ a: 'n0', b: `n${i + 1}` })),
      paths: receivers.map((ip, i) => ({ leaf: `n${i + 1}`, receiver: { ip }, stream: { udpPort: 5004 } })),
    });

  test('highest hK and highest receiver 10.250.0.(200+K); at least one receiver', () => {
    expect(labSizeOf(topo(['h1', 'h2', 'h5'], ['10.250.0.202']))).toEqual({ hypervisors: 5, receivers: 2 });
    expect(labSizeOf(topo(['h1', 'h3'], ['10.250.0.255']))).toEqual({ hypervisors: 3, receivers: 1 });
  });

  test('a host that is not a lab hypervisor is refused naming the node and the field', () => {
    expect(() => labSizeOf(topo(['h1', 'hv-east'], []), 'T')).toThrow(/T cannot run on a lab:\n  nodes\[1\]\.host "hv-east" \(node n1\) is not a lab hypervisor: use h1\.\.h64/);
    expect(() => labSizeOf(topo(['h1', 'h65'], []), 'T')).toThrow(/nodes\[1\]\.host "h65"/);
  });

  test("the repository's stacks: lab 4+1, paper 5+1, failover from its own file", () => {
    expect(stackLabSize('lab')).toEqual({ hypervisors: 4, receivers: 1 });
    expect(stackLabSize('paper')).toEqual({ hypervisors: 5, receivers: 1 });
    expect(stackLabSize('failover')).toEqual({ hypervisors: 4, receivers: 2 });
  });

  test("a stack's vpm:topology config is followed; a missing file names the config to set", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-size-'));
    fs.writeFileSync(path.join(dir, 'Pulumi.yaml'), 'name: x\nruntime: nodejs\nstackConfigDir: stacks\n');
    fs.mkdirSync(path.join(dir, 'stacks', 'topologies'), { recursive: true });
    fs.copyFileSync(path.join(__dirname, '../../../stacks/topologies/paper.yaml'), path.join(dir, 'p.yaml'));
    fs.writeFileSync(path.join(dir, 'stacks', 'Pulumi.pr-7.yaml'), 'config:\n  vpm:topology: p.yaml\n');
    expect(stackLabSize('pr-7', dir)).toEqual({ hypervisors: 5, receivers: 1 });
    expect(() => stackLabSize('other', dir)).toThrow(/stack other: cannot size its lab from its topology stacks\/topologies\/other\.yaml: .*config set vpm:topology FILE --stack other/s);
  });
});
