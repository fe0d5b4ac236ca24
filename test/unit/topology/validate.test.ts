/**
 * parseTopology: one test per rule, each checking the field path and the fix in the
 * message, plus the promise that every problem comes back in one throw.
 */
import { parseTopology, TopologyError, type TopologyInput, type TopologyProblem } from '../../../components/topology';
import { paperTopology } from '../../support/topology-fixtures';
import { topologyErrorOf } from '../../support/expect';

/** Parse, expect a TopologyError, return its problems. */
function problemsOf(input: unknown): readonly TopologyProblem[] {
  return topologyErrorOf(() => parseTopology(input)).problems;
}

/** The paper topology with one edit applied (a deep copy, so tests do not share state). */
function edited(edit: (t: TopologyInput & Record<string, any>) => void): unknown {
  const t = structuredClone(paperTopology()) as TopologyInput & Record<string, any>;
  edit(t);
  return t;
}

/** Exactly one problem, at `path`, whose message matches every pattern. */
function expectOnly(input: unknown, path: string, ...patterns: RegExp[]) {
  const problems = problemsOf(input);
  expect(problems.map((p) => p.path)).toEqual([path]);
  for (const re of patterns) expect(problems[0].message).toMatch(re);
  // The project's format: "<what is wrong>; <how to fix>".
  expect(problems[0].message).toMatch(/; /);
}

describe('parseTopology: valid input', () => {
  it('accepts the paper topology and fills defaults', () => {
    const t = parseTopology(paperTopology());
    expect(t.nodes[0]).toEqual({ id: 'r', role: 'root', host: 'h-r', failed: false });
    expect(t.vms[0]).toEqual({ name: 'leafvm', node: 'l2', memoryMiB: 96, vcpus: 1 });
    expect(t.paths.map((p) => p.id)).toEqual(['l1-5004', 'l2-5004']);
  });

  it('defaults vms and paths to empty lists', () => {
    const t = parseTopology({ nodes: [{ id: 'r', role: 'root', host: 'h1' }], links: [] });
    expect(t.vms).toEqual([]);
    expect(t.paths).toEqual([]);
  });

  it('keeps an explicit path id and accepts MACs in either case and a unicast srcIp', () => {
    const t = parseTopology(
      edited((t) => {
        t.paths![0] = { id: 'tv', leaf: 'l1', receiver: { ip: '239.1.2.3', mac: 'AA:bb:CC:00:11:22' }, stream: { udpPort: 1, srcIp: '10.0.0.1' } };
      }),
    );
    expect(t.paths[0].id).toBe('tv');
  });

  it('accepts unicast, multicast and broadcast receivers', () => {
    for (const ip of ['10.250.0.201', '224.0.0.1', '239.255.255.255', '255.255.255.255', '10.0.0.255', '1.0.0.0', '169.254.1.1']) {
      expect(() => parseTopology(edited((t) => (t.paths![0].receiver.ip = ip)))).not.toThrow();
    }
  });
});

describe('parseTopology: field shapes (zod)', () => {
  it('rejects a misspelt key and suggests the right one', () => {
    expectOnly(edited((t) => ((t.nodes[1] as any).rol = 'leaf')), 'nodes[1].rol', /unknown key "rol"/, /did you mean "role"\?/);
  });

  it('rejects unknown keys at the top level and in nested objects', () => {
    expectOnly(edited((t) => (t.extra = 1)), 'extra', /unknown key "extra"/, /allowed here: nodes, links, vms, paths/);
    expectOnly(edited((t) => ((t.paths![0].receiver as any).port = 1)), 'paths[0].receiver.port', /allowed here: ip, mac/);
  });

  it('rejects a bad role with the allowed ones', () => {
    expectOnly(edited((t) => ((t.nodes[2] as any).role = 'relais')), 'nodes[2].role', /"relais" is not a role/, /root, relay, leaf/);
  });

  it('rejects node ids and host names outside the id pattern', () => {
    expectOnly(edited((t) => (t.nodes[5].host = 'Host_Z')), 'nodes[5].host', /"Host_Z" is not a valid host name/);
    const long = 'a'.repeat(32);
    const problems = problemsOf({ nodes: [{ id: long, role: 'root', host: 'h' }], links: [] });
    expect(problems).toEqual([expect.objectContaining({ path: 'nodes[0].id' })]);
  });

  it('reports a missing required field', () => {
    expectOnly(edited((t) => delete (t.nodes[0] as any).host), 'nodes[0].host', /is missing; add it/);
  });

  it('reports a wrong type with the actual value', () => {
    expectOnly(edited((t) => ((t.nodes[0] as any).failed = 'yes')), 'nodes[0].failed', /the string "yes"/, /true or false/);
    expectOnly(edited((t) => ((t as any).links = {})), 'links', /is a mapping, expected a list/);
  });

  it('rejects a non-object topology', () => {
    expect(problemsOf('nodes: []')).toEqual([expect.objectContaining({ path: 'topology', message: expect.stringMatching(/expected a mapping with nodes and links/) })]);
  });

  it('checks VM memory and vcpu ranges', () => {
    expectOnly(edited((t) => (t.vms![0].memoryMiB = 64)), 'vms[0].memoryMiB', /64 is below 96/, /from 96 to 4096/);
    expectOnly(edited((t) => (t.vms![0].memoryMiB = 4097)), 'vms[0].memoryMiB', /above 4096/);
    expectOnly(edited((t) => (t.vms![0].vcpus = 1.5)), 'vms[0].vcpus', /1.5 is not a whole number/);
    expectOnly(edited((t) => (t.vms![0].vcpus = 5)), 'vms[0].vcpus', /above 4/);
  });

  it('checks the VM name pattern', () => {
    expectOnly(edited((t) => (t.vms![0].name = '9vm')), 'vms[0].name', /"9vm" is not a valid VM name/);
  });

  it('checks the UDP port range', () => {
    expectOnly(edited((t) => (t.paths![0].stream.udpPort = 0)), 'paths[0].stream.udpPort', /below 1/);
    expectOnly(edited((t) => (t.paths![0].stream.udpPort = 65536)), 'paths[0].stream.udpPort', /above 65535/);
  });

  it('checks the receiver MAC format', () => {
    expectOnly(edited((t) => (t.paths![0].receiver.mac = 'aa-bb-cc-dd-ee-ff')), 'paths[0].receiver.mac', /is not a MAC address/);
  });
});

describe('parseTopology: cross-field rules', () => {
  it('requires a root', () => {
    expectOnly(edited((t) => (t.nodes[0].role = 'relay')), 'nodes', /no node has role "root"/, /set role: root on exactly one node/);
  });

  it('names every root when there are several', () => {
    expectOnly(
      edited((t) => (t.nodes[2].role = 'root')),
      'nodes',
      /2 nodes have role "root": "r" \(nodes\[0\]\), "x" \(nodes\[2\]\)/,
      /keep role: root on exactly one/,
    );
  });

  it('rejects duplicate node ids', () => {
    const problems = problemsOf(edited((t) => (t.nodes[5].id = 'y')));
    expect(problems[0]).toEqual({ path: 'nodes[5].id', message: expect.stringMatching(/duplicate node id "y" \(also nodes\[4\]\); give each node a unique id/) });
  });

  it('rejects links to unknown nodes and lists the known ids', () => {
    expectOnly(
      edited((t) => (t.links[3].b = 'h9')),
      'links[3].b',
      /unknown node "h9"; use one of the node ids: r, l1, x, l2, y, z/,
    );
    expectOnly(edited((t) => (t.links[0].a = 'q')), 'links[0].a', /unknown node "q"/);
  });

  it('rejects self-loops', () => {
    expectOnly(edited((t) => t.links.push({ a: 'x', b: 'x' })), 'links[7]', /links node "x" to itself/);
  });

  it('rejects duplicate links in either orientation', () => {
    expectOnly(edited((t) => t.links.push({ a: 'l2', b: 'x' })), 'links[7]', /duplicate of links\[2\]/, /a-b and b-a are the same link/);
    expectOnly(edited((t) => t.links.push({ a: 'r', b: 'l1' })), 'links[7]', /duplicate of links\[0\]/);
  });

  it('rejects a path whose leaf is not a leaf', () => {
    expectOnly(edited((t) => (t.paths![0].leaf = 'x')), 'paths[0].leaf', /node "x" is a relay, not a leaf/, /\(l1, l2\)/);
    expectOnly(edited((t) => (t.paths![0].leaf = 'z')), 'paths[0].leaf', /node "z" is a node without a role/);
  });

  it('rejects a path to an unknown node, listing the leaves', () => {
    expectOnly(edited((t) => (t.paths![0].leaf = 'l9')), 'paths[0].leaf', /unknown node "l9"; use one of the leaf nodes: l1, l2/);
  });

  it('rejects a path to a failed leaf', () => {
    expectOnly(edited((t) => (t.nodes[1].failed = true)), 'paths[0].leaf', /leaf "l1" is marked failed/);
  });

  it('rejects a VM on an unknown node', () => {
    expectOnly(edited((t) => (t.vms![0].node = 'nowhere')), 'vms[0].node', /unknown node "nowhere"; use one of the node ids/);
  });

  it('rejects duplicate VM names', () => {
    expectOnly(edited((t) => t.vms!.push({ name: 'leafvm', node: 'l1' })), 'vms[1].name', /duplicate VM name "leafvm" \(also vms\[0\]\)/);
  });

  it('rejects duplicate path ids, explicit or defaulted', () => {
    expectOnly(
      edited((t) => t.paths!.push({ leaf: 'l1', receiver: { ip: '10.0.0.7' }, stream: { udpPort: 5004 } })),
      'paths[2].id',
      /duplicate path id "l1-5004" \(defaulted from leaf and udpPort\) \(also paths\[0\]\)/,
    );
    expectOnly(
      edited((t) => {
        t.paths![0].id = 'same';
        t.paths![1].id = 'same';
      }),
      'paths[1].id',
      /duplicate path id "same" \(also paths\[0\]\); set a distinct id/,
    );
  });

  it.each([
    ['0.0.0.0', /this network/],
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['1.2.3', /not an IPv4 address/],
    ['256.1.1.1', /not an IPv4 address/],
    ['01.2.3.4', /not an IPv4 address; .*without leading zeros/],
    ['10.0.0.010', /not an IPv4 address/],
    ['10.0.0.1 ', /not an IPv4 address/],
    ['', /not an IPv4 address/],
    ['240.0.0.1', /reserved/],
  ])('rejects receiver IP %j', (ip, why) => {
    expectOnly(edited((t) => (t.paths![1].receiver.ip = ip)), 'paths[1].receiver.ip', why);
  });

  it('rejects a non-unicast source IP', () => {
    expectOnly(edited((t) => (t.paths![0].stream.srcIp = '224.0.0.1')), 'paths[0].stream.srcIp', /multicast address, which cannot be a packet's source/);
    expectOnly(edited((t) => (t.paths![0].stream.srcIp = '10.0.0')), 'paths[0].stream.srcIp', /not an IPv4 address/);
  });

  it('rejects a leaf that is not connected to the root', () => {
    expectOnly(
      edited((t) => {
        t.nodes.push({ id: 'l3', role: 'leaf', host: 'h-l3' }, { id: 'w', role: 'relay', host: 'h-w' });
        t.links.push({ a: 'l3', b: 'w' });
      }),
      'nodes[6]',
      /leaf "l3" cannot be reached from root "r"/,
      /link it/,
    );
  });

  it('rejects a leaf cut off by a failed node, naming the failed node', () => {
    // x failed: l2 is left with l1-l2 only, still reachable through l1; drop that too.
    const input = edited((t) => {
      t.nodes[2].failed = true;
      t.links.splice(4, 1);
    });
    expectOnly(input, 'nodes[3]', /leaf "l2" cannot be reached from root "r" once failed node\(s\) x are removed/, /redundancy link/);
  });

  it('rejects a failed root', () => {
    expectOnly(edited((t) => (t.nodes[0].failed = true)), 'nodes[0].failed', /root "r" is marked failed/);
  });

  it('does not report a leaf behind a dangling branch as unreachable (pruning keeps it)', () => {
    expect(() => parseTopology(edited((t) => (t.nodes[5].role = 'relay')))).not.toThrow();
  });
});

describe('parseTopology: all problems in one throw', () => {
  it('reports shape and cross-field problems together, in file order', () => {
    const input = edited((t) => {
      (t.nodes[1] as any).rol = 'leaf'; // zod: unknown key
      t.nodes[2].role = 'root'; // two roots
      t.links[3].b = 'h9'; // unknown node
      t.links.push({ a: 'x', b: 'x' }); // self-loop
      t.vms!.push({ name: 'leafvm', node: 'q' }); // duplicate name + unknown node
      t.paths![0].receiver.ip = '127.0.0.1'; // loopback
      t.paths![1].stream.udpPort = 0; // range
    });
    let error: unknown;
    try {
      parseTopology(input, 'topo.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TopologyError);
    const { problems, message } = error as TopologyError;
    expect(problems.map((p) => p.path)).toEqual([
      'nodes',
      'nodes[1].rol',
      'links[3].b',
      'links[7]',
      'vms[1].node',
      'vms[1].name',
      'paths[0].receiver.ip',
      'paths[1].stream.udpPort',
    ]);
    expect(message).toMatch(/^invalid topology in topo\.yaml: 8 problems:\n {2}- nodes: /);
    for (const p of problems) expect(message).toContain(`${p.path}: ${p.message}`);
  });
});
