/**
 * FlowPath's stored inputs parsed once (providers/flow-path/spec.ts parsePath): the typed path
 * equals the stored values (the state's shape is unchanged), a bad value is named by its field,
 * and planning a path parses each port once, however many segments use it.
 */
import { cookieFor } from '../../../providers/common/owner';
import * as values from '../../../providers/ovs/values';
import { parsePath, planSwitches } from '../../../providers/flow-path/plan';
import type { FlowPathInputs, Hop } from '../../../providers/flow-path/types';

const conn = (n: number) => ({ host: `192.0.2.${n}`, hostKey: 'ssh-ed25519 AAAA', privateKeyPath: '/nonexistent/id' }) as Hop['connection'];

/** h1 (root) -> h2 (relay, backup via h3) -> h4 (leaf, through a VM); the route h3 -> h4 around h2. */
function path(): FlowPathInputs {
  return {
    pathId: 'p',
    cookie: cookieFor('path:p'),
    stream: { udpDst: 5004, srcIp: '10.250.0.1' },
    hops: [
      { node: 'h1', connection: conn(1), bridge: 'br1', inPort: 2, outPort: 102, backup: { outPort: 103 }, neighbours: [{ ip: '10.250.0.12', mac: '02:56:50:00:00:02' }] },
      { node: 'h2', connection: conn(2), bridge: 'br1', inPort: 101, outPort: 104 },
      { node: 'h4', connection: conn(4), bridge: 'br1', inPort: 102, outPort: 1, vmPort: 150, vmMac: '02:56:51:00:00:01', vmIp: '10.250.1.1' },
    ],
    backupHops: [
      { from: 0, node: 'h3', connection: conn(3), bridge: 'br1', inPort: 101, outPort: 104 },
      { from: 0, node: 'h4', connection: conn(4), bridge: 'br1', inPort: 103 },
    ],
    egress: { receiverIp: '10.250.0.201', receiverMac: '02:56:52:00:00:01', srcMac: '02:56:50:00:00:04' },
    flows: [],
  };
}

describe('parsePath', () => {
  it('gives the stored values, typed (no field added or changed)', () => {
    const p = path();
    const spec = parsePath(p);
    expect(spec.hops).toEqual(p.hops);
    expect(spec.backupHops).toEqual(p.backupHops);
    expect(spec.stream).toEqual(p.stream);
    expect(spec.egress).toEqual(p.egress);
    expect(spec.cookie).toBe(p.cookie);
    expect(JSON.stringify(path())).toBe(JSON.stringify(p)); // the stored inputs are not touched
  });

  it('a path without backup routes has an empty list of them', () => {
    const { backupHops: _b, ...p } = path();
    expect(parsePath(p).backupHops).toEqual([]);
  });

  it('names the field of a bad value', () => {
    const p = path();
    expect(() => parsePath({ ...p, hops: [p.hops[0], { ...p.hops[1], outPort: 0 }, p.hops[2]] })).toThrow(/hops\[1\]\.outPort/);
    expect(() => parsePath({ ...p, hops: [p.hops[0], p.hops[1], { ...p.hops[2], vmMac: 'nope' }] })).toThrow(/hops\[2\]\.vmMac/);
    expect(() => parsePath({ ...p, backupHops: [{ ...p.backupHops![0], inPort: -1 }] })).toThrow(/backupHops\[0\]\.inPort/);
    expect(() => parsePath({ ...p, egress: { ...p.egress, srcMac: 'x' } })).toThrow(/egress\.srcMac/);
  });

  it('planSwitches parses each stored port once, not once per segment that uses it', () => {
    const spy = jest.spyOn(values, 'parseOfPortNumber');
    try {
      const plans = planSwitches(path());
      expect(plans.flatMap((s) => s.segments).length).toBeGreaterThan(4);
      // hops: 3 x (in, out) + vmPort + backup.outPort; backup hops: 2 x in + 1 out
      expect(spy).toHaveBeenCalledTimes(3 * 2 + 1 + 1 + 2 + 1);
    } finally {
      spy.mockRestore();
    }
  });
});
