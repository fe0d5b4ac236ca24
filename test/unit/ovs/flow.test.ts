import fc from 'fast-check';
import { ValidationError } from '../../../providers/exec/errors';
import {
  Action,
  Flow,
  act,
  actionsToOfctl,
  flowIdentity,
  flowToOfctl,
  matchToOfctl,
  validateFlow,
} from '../../../providers/ovs/flow';
import {
  Cookie,
  GroupId,
  Ipv4,
  Mac,
  OfPort,
  UdpPort,
  parseCookie,
  parseIpv4,
  parseMac,
  parseUdpPort,
} from '../../../providers/ovs/values';
import { validationProblems as problems } from '../../support/expect';

const cookie = parseCookie('0x1');
const ip = (s: string) => parseIpv4(s);
const mac = (s: string) => parseMac(s);
const port = (n: number) => n as OfPort;

const leaf: Flow = {
  table: 0,
  priority: 100,
  cookie,
  match: { inPort: port(3), dlType: 'ip', nwProto: 17, nwDst: ip('10.0.0.1'), udpDst: parseUdpPort(5004) },
  actions: [act.setEthDst('02:00:00:00:00:01'), act.output(2)],
};

describe('flowToOfctl', () => {
  test('add: the text ovs-ofctl takes and dump-flows prints', () => {
    expect(flowToOfctl(leaf, 'add')).toBe(
      'table=0,priority=100,cookie=0x1,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004,actions=set_field:02:00:00:00:00:01->eth_dst,output:2',
    );
  });
  test('strict-del: identity with a full cookie mask, no actions', () => {
    expect(flowToOfctl(leaf, 'strict-del')).toBe('table=0,priority=100,cookie=0x1/-1,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004');
  });
  test('strict-modify: identity, cookie mask, actions', () => {
    expect(flowToOfctl(leaf, 'strict-modify')).toBe(
      'table=0,priority=100,cookie=0x1/-1,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004,actions=set_field:02:00:00:00:00:01->eth_dst,output:2',
    );
  });
  test('match-only: no priority (non-strict del-flows/dump-flows reject it)', () => {
    expect(flowToOfctl(leaf, 'match-only')).toBe('table=0,cookie=0x1/-1,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004');
  });
  test('table defaults to 0, empty match, drop', () => {
    const f: Flow = { priority: 0, cookie: parseCookie(0xabcdef0123456789n), match: {}, actions: [act.drop()] };
    expect(flowToOfctl(f, 'add')).toBe('table=0,priority=0,cookie=0xabcdef0123456789,actions=drop');
    expect(flowToOfctl(f, 'strict-del')).toBe('table=0,priority=0,cookie=0xabcdef0123456789/-1');
    expect(flowToOfctl(f, 'match-only')).toBe('table=0,cookie=0xabcdef0123456789/-1');
  });
  test('leaf rewrite to a receiver, output via patch port', () => {
    const f: Flow = {
      table: 3,
      priority: 65535,
      cookie: parseCookie('0x00FF'),
      match: { inPort: 'LOCAL', dlType: 'ip', nwProto: 17, nwSrc: ip('10.1.0.2'), nwDst: ip('224.1.2.3'), udpSrc: 1000 as UdpPort, udpDst: 5004 as UdpPort },
      actions: [act.setIpDst('192.168.1.255'), act.setEthDst('FF:FF:FF:FF:FF:FF'), act.output(7)],
    };
    expect(flowToOfctl(f, 'add')).toBe(
      'table=3,priority=65535,cookie=0xff,udp,in_port=LOCAL,nw_src=10.1.0.2,nw_dst=224.1.2.3,tp_src=1000,tp_dst=5004,' +
        'actions=set_field:192.168.1.255->ip_dst,set_field:ff:ff:ff:ff:ff:ff->eth_dst,output:7',
    );
  });
  test('reserved ports and groups are printed the way OVS prints them', () => {
    expect(actionsToOfctl([act.output('LOCAL'), act.output('IN_PORT'), act.inPort(), act.group(5)])).toBe('LOCAL,IN_PORT,IN_PORT,group:5');
    expect(actionsToOfctl([act.setEthSrc('02:00:00:00:00:0A'), act.setIpSrc('10.0.0.9')])).toBe(
      'set_field:02:00:00:00:00:0a->eth_src,set_field:10.0.0.9->ip_src',
    );
  });
});

describe('matchToOfctl: canonical order of OVS 3.1 dump-flows', () => {
  test.each<[string, object, string]>([
    ['ip only', { dlType: 'ip' }, 'ip'],
    ['ip numeric', { dlType: 0x0800 }, 'ip'],
    ['arp', { dlType: 'arp', inPort: 3, dlDst: mac('ff:ff:ff:ff:ff:ff') }, 'arp,in_port=3,dl_dst=ff:ff:ff:ff:ff:ff'],
    ['tcp shorthand', { dlType: 'ip', nwProto: 6 }, 'tcp'],
    ['icmp shorthand', { dlType: 'ip', nwProto: 1 }, 'icmp'],
    ['sctp shorthand', { dlType: 'ip', nwProto: 132 }, 'sctp'],
    ['other proto', { dlType: 'ip', nwProto: 99, nwSrc: ip('10.0.0.1'), inPort: 10 }, 'ip,in_port=10,nw_src=10.0.0.1,nw_proto=99'],
    ['igmp has no shorthand', { dlType: 'ip', nwProto: 2 }, 'ip,nw_proto=2'],
    ['ipv6', { dlType: 0x86dd, inPort: 'LOCAL' }, 'ipv6,in_port=LOCAL'],
    ['rarp', { dlType: 0x8035 }, 'rarp'],
    ['mpls', { dlType: 0x8847 }, 'mpls'],
    ['odd type', { dlType: 0x88cc, inPort: 10, dlSrc: mac('02:00:00:00:00:01'), dlDst: mac('01:00:5e:01:02:03') }, 'in_port=10,dl_src=02:00:00:00:00:01,dl_dst=01:00:5e:01:02:03,dl_type=0x88cc'],
    ['tiny type', { dlType: 1 }, 'dl_type=0x0001'],
    ['input key order does not matter', { udpDst: 5004, nwDst: ip('224.1.2.3'), dlSrc: mac('02:00:00:00:00:01'), inPort: 10, nwProto: 17, dlType: 'ip' }, 'udp,in_port=10,dl_src=02:00:00:00:00:01,nw_dst=224.1.2.3,tp_dst=5004'],
    ['empty', {}, ''],
  ])('%s', (_name, match, text) => {
    expect(matchToOfctl(match)).toBe(text);
  });
});

describe('invariants', () => {
  test('udp ports need udp', () => {
    const p = problems(() => flowToOfctl({ ...leaf, match: { inPort: port(3), udpDst: 5004 as UdpPort } }, 'add'));
    expect(p).toEqual([{ property: 'flow.match.udpDst', reason: expect.stringContaining("requires dlType 'ip' and nwProto 17") }]);
    const q = problems(() => flowToOfctl({ ...leaf, match: { dlType: 'ip', nwProto: 6, udpSrc: 1 as UdpPort } }, 'add'));
    expect(q[0].property).toBe('flow.match.udpSrc');
  });
  test('nw fields need ip', () => {
    expect(problems(() => matchToOfctl({ dlType: 'arp', nwDst: ip('10.0.0.1') }))[0].property).toBe('match.nwDst');
    expect(problems(() => matchToOfctl({ nwProto: 17 }))[0].reason).toContain("requires dlType 'ip'");
  });
  test('set_field ip_* needs an ip match', () => {
    const p = problems(() => flowToOfctl({ ...leaf, match: { inPort: port(1) }, actions: [act.setIpDst('10.0.0.1'), act.output(2)] }, 'add'));
    expect(p).toEqual([{ property: 'flow.actions[0].field', reason: "set_field ip_dst requires the match to have dlType 'ip'" }]);
    // eth fields have no prerequisite
    expect(flowToOfctl({ ...leaf, match: {}, actions: [act.setEthDst('02:00:00:00:00:01'), act.output(2)] }, 'add')).toContain(
      'actions=set_field:02:00:00:00:00:01->eth_dst,output:2',
    );
  });
  test('cookie required, not 0, not all-ones', () => {
    const { cookie: _c, ...noCookie } = leaf;
    expect(problems(() => flowToOfctl(noCookie as Flow, 'add'))[0]).toEqual({
      property: 'flow.cookie',
      reason: expect.stringContaining('cookie is required'),
    });
    expect(problems(() => flowToOfctl({ ...leaf, cookie: parseCookie(0) }, 'add'))[0].reason).toContain('reserved');
    expect(problems(() => flowToOfctl({ ...leaf, cookie: parseCookie('0xffffffffffffffff') }, 'add'))[0].reason).toContain('reserved');
    expect(problems(() => flowToOfctl({ ...leaf, cookie: 'cookie' as Cookie }, 'add'))[0].reason).toContain('"cookie"');
  });
  test('priority and table ranges', () => {
    expect(problems(() => flowToOfctl({ ...leaf, priority: 65536 }, 'add'))[0].property).toBe('flow.priority');
    expect(problems(() => flowToOfctl({ ...leaf, priority: -1 }, 'add'))[0].property).toBe('flow.priority');
    expect(problems(() => flowToOfctl({ ...leaf, priority: 1.5 }, 'add'))[0].property).toBe('flow.priority');
    expect(problems(() => flowToOfctl({ ...leaf, table: 254 }, 'add'))[0].reason).toContain('reserves 254');
    expect(problems(() => flowToOfctl({ ...leaf, table: 255 }, 'add'))[0].property).toBe('flow.table');
  });
  test('actions: non-empty, drop alone, known types', () => {
    expect(problems(() => flowToOfctl({ ...leaf, actions: [] }, 'add'))[0].reason).toContain("[{ type: 'drop' }]");
    expect(problems(() => flowToOfctl({ ...leaf, actions: [act.drop(), act.output(1)] }, 'add'))[0].property).toBe('flow.actions[0]');
    expect(problems(() => flowToOfctl({ ...leaf, actions: [{ type: 'controller' } as unknown as Action] }, 'add'))[0].property).toBe(
      'flow.actions[0].type',
    );
    expect(
      problems(() => flowToOfctl({ ...leaf, actions: [{ type: 'setField', field: 'vlan_vid', value: 1 } as unknown as Action] }, 'add'))[0]
        .property,
    ).toBe('flow.actions[0].field');
    expect(problems(() => flowToOfctl({ ...leaf, actions: [{ type: 'output', port: 0 as OfPort }] }, 'add'))[0].property).toBe(
      'flow.actions[0].port',
    );
    expect(problems(() => flowToOfctl({ ...leaf, actions: [{ type: 'group', id: 0 as GroupId }] }, 'add'))[0].property).toBe(
      'flow.actions[0].id',
    );
    expect(
      problems(() => flowToOfctl({ ...leaf, actions: [{ type: 'setField', field: 'eth_dst', value: '10.0.0.1' as unknown as Mac }] }, 'add'))[0]
        .property,
    ).toBe('flow.actions[0].value');
  });
  test('unknown keys are typos, not ignored', () => {
    const p = problems(() => flowToOfctl({ ...leaf, match: { ...leaf.match, udp_dst: 5004 } as never }, 'add'));
    expect(p[0]).toEqual({ property: 'flow.match.udp_dst', reason: expect.stringContaining('unknown field "udp_dst"') });
    expect(problems(() => flowToOfctl({ ...leaf, idleTimeout: 5 } as never, 'add'))[0].property).toBe('flow.idleTimeout');
    expect(
      problems(() => flowToOfctl({ ...leaf, actions: [{ type: 'output', port: 1, extra: 1 } as never] }, 'add'))[0].property,
    ).toBe('flow.actions[0].extra');
  });
  test('IN_PORT cannot be matched', () => {
    expect(problems(() => matchToOfctl({ inPort: 'IN_PORT' }))[0].reason).toContain('IN_PORT cannot be matched');
  });
  test('all problems at once, with paths', () => {
    const p = problems(() =>
      flowToOfctl({ table: 300, priority: 70000, cookie, match: { udpDst: 5004 as UdpPort, nwDst: '1.2.3' as Ipv4 }, actions: [] }, 'add', 'path.flows[2]'),
    );
    expect(p.map((x) => x.property)).toEqual([
      'path.flows[2].table',
      'path.flows[2].priority',
      'path.flows[2].match.nwDst',
      'path.flows[2].match.udpDst',
      'path.flows[2].actions',
    ]);
  });
  test('validateFlow returns problems instead of throwing', () => {
    expect(validateFlow(leaf)).toEqual([]);
    expect(validateFlow({ ...leaf, priority: -5 }, 'f')).toEqual([{ property: 'f.priority', reason: expect.any(String) }]);
    expect(validateFlow('nope', 'f')[0].reason).toContain('flow must be an object');
  });
  test('match-only / strict-del do not need actions', () => {
    expect(flowToOfctl({ ...leaf, actions: [] }, 'strict-del')).toBe('table=0,priority=100,cookie=0x1/-1,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004');
    expect(() => flowToOfctl({ ...leaf, actions: [] }, 'strict-modify')).toThrow(ValidationError);
  });
  test('flowIdentity ignores cookie and actions', () => {
    expect(flowIdentity(leaf)).toBe('table=0,priority=100,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004');
  });
});

describe('properties', () => {
  const arbIp = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((o) => o.join('.') as Ipv4);
  const arbMac = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map(
    (o) => o.map((b) => b.toString(16).padStart(2, '0')).join(':') as Mac,
  );
  const arbUdpMatch = fc.record(
    {
      inPort: fc.oneof(fc.integer({ min: 1, max: 65279 }).map((n) => n as OfPort), fc.constant('LOCAL' as OfPort)),
      nwSrc: arbIp,
      nwDst: arbIp,
      udpSrc: fc.integer({ min: 1, max: 65535 }).map((n) => n as UdpPort),
      udpDst: fc.integer({ min: 1, max: 65535 }).map((n) => n as UdpPort),
      dlSrc: arbMac,
      dlDst: arbMac,
    },
    { requiredKeys: [] },
  );
  const arbFlow = fc.record({
    table: fc.integer({ min: 0, max: 253 }),
    priority: fc.integer({ min: 0, max: 65535 }),
    cookie: fc.bigInt({ min: 1n, max: (1n << 64n) - 2n }).map((n) => parseCookie(n)),
    match: arbUdpMatch.map((m) => ({ ...m, dlType: 'ip' as const, nwProto: 17 })),
    actions: fc.constant([act.setIpDst('10.0.0.1'), act.output(1)]),
  });

  test('every valid UDP flow serializes; the modes share one match text', () => {
    fc.assert(
      fc.property(arbFlow, (f) => {
        const add = flowToOfctl(f, 'add');
        const del = flowToOfctl(f, 'strict-del');
        const m = matchToOfctl(f.match);
        return (
          add === `table=${f.table},priority=${f.priority},cookie=${f.cookie},${m},actions=set_field:10.0.0.1->ip_dst,output:1` &&
          del === `table=${f.table},priority=${f.priority},cookie=${f.cookie}/-1,${m}` &&
          m.startsWith('udp') &&
          !/[\s;"'`$\\]/.test(add)
        );
      }),
    );
  });
  test('match text does not depend on the key order of the input', () => {
    fc.assert(
      fc.property(arbUdpMatch, fc.integer(), (m, seed) => {
        const full = { ...m, dlType: 'ip' as const, nwProto: 17 };
        const entries = Object.entries(full);
        const shuffled = Object.fromEntries(entries.sort((a, b) => ((a[0].charCodeAt(0) * seed) % 7) - ((b[0].charCodeAt(0) * seed) % 7)));
        return matchToOfctl(shuffled) === matchToOfctl(full);
      }),
    );
  });
});
