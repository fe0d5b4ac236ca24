import fc from 'fast-check';
import {
  NAME_PATTERN,
  cookieToBigInt,
  deterministicName,
  formatCookie,
  isBroadcastish,
  isMulticast,
  isUnicast,
  parseBridgeName,
  parseBucketId,
  parseCookie,
  parseGroupId,
  parseInterfaceName,
  parseIpv4,
  parseMac,
  parseOfPort,
  parseOfPortNumber,
  parseUdpPort,
} from '../../../providers/ovs/values';
import { validationProblems } from '../../support/expect';

function problemOf(f: () => unknown): { property: string; reason: string } {
  return validationProblems(f)[0];
}

describe('names', () => {
  test.each(['br1', 'gre-0a1b2c', 'eth0.100', 'a', 'A_b-c.d', '123456789012345'])('accepts %s', (n) => {
    expect(parseInterfaceName(n)).toBe(n);
    expect(parseBridgeName(n)).toBe(n);
  });
  test.each(['', '.', '..', '-x', '_x', '.x', 'a b', 'a/b', 'a:b', '1234567890123456', 'br1;rm'])('rejects %j', (n) => {
    const p = problemOf(() => parseInterfaceName(n, 'spec.port'));
    expect(p.property).toBe('spec.port');
    expect(p.reason).toContain(JSON.stringify(n));
    expect(p.reason).toContain('1-15 characters');
  });
  test('rejects non-strings with the value in the message', () => {
    expect(problemOf(() => parseBridgeName(42)).reason).toContain('got 42');
  });
});

describe('Mac', () => {
  test('normalises case and separator', () => {
    expect(parseMac('02:00:00:00:00:AA')).toBe('02:00:00:00:00:aa');
    expect(parseMac('02-00-00-00-00-Ab')).toBe('02:00:00:00:00:ab');
  });
  test.each(['02:00:00:00:00', '02:00:00:00:00:0g', '02:00-00:00:00:00', '0200.0000.0001', ''])('rejects %j', (m) => {
    expect(problemOf(() => parseMac(m)).reason).toContain('six hex pairs');
  });
});

describe('Ipv4', () => {
  test.each(['0.0.0.0', '10.0.0.1', '255.255.255.255', '224.1.2.3', '192.168.100.9'])('accepts %s', (ip) => {
    expect(parseIpv4(ip)).toBe(ip);
  });
  test.each(['010.0.0.1', '10.0.0', '10.0.0.256', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4/24', '::1', '1.2.3.04'])('rejects %j', (ip) => {
    expect(problemOf(() => parseIpv4(ip, 'receiver')).reason).toMatch(/without leading zeros/);
  });
  test('classification', () => {
    const ip = (s: string) => parseIpv4(s);
    expect(isMulticast(ip('224.0.0.1'))).toBe(true);
    expect(isMulticast(ip('239.255.255.255'))).toBe(true);
    expect(isMulticast(ip('240.0.0.1'))).toBe(false);
    expect(isUnicast(ip('10.0.0.1'))).toBe(true);
    expect(isUnicast(ip('224.1.1.1'))).toBe(false);
    expect(isUnicast(ip('0.0.0.0'))).toBe(false);
    expect(isUnicast(ip('255.255.255.255'))).toBe(false);
    expect(isUnicast(ip('10.0.255.255'), 16)).toBe(false);
    expect(isUnicast(ip('10.0.1.255'), 16)).toBe(true);
    expect(isBroadcastish(ip('255.255.255.255'))).toBe(true);
    expect(isBroadcastish(ip('192.168.1.255'))).toBe(true);
    expect(isBroadcastish(ip('192.168.1.254'))).toBe(false);
    expect(isBroadcastish(ip('10.0.255.255'), 16)).toBe(true);
    expect(isBroadcastish(ip('10.0.1.255'), 16)).toBe(false);
    expect(isBroadcastish(ip('10.0.0.127'), 25)).toBe(true);
  });
  test('property: every formatted quad parses to itself', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (o) => {
        const s = o.join('.');
        return parseIpv4(s) === s;
      }),
    );
  });
});

describe('OfPort', () => {
  test('numbers and reserved names', () => {
    expect(parseOfPort(1)).toBe(1);
    expect(parseOfPort('65279')).toBe(65279);
    expect(parseOfPort('local')).toBe('LOCAL');
    expect(parseOfPort('IN_PORT')).toBe('IN_PORT');
  });
  test.each([0, 65280, 65534, -1, 1.5, '01', 'CONTROLLER', null])('rejects %j', (p) => {
    expect(problemOf(() => parseOfPort(p)).reason).toContain('1..65279');
  });
  test('numbered only', () => {
    expect(problemOf(() => parseOfPortNumber('LOCAL')).reason).toContain('1..65279');
  });
});

describe('Cookie', () => {
  test('parses and formats as ovs-ofctl prints', () => {
    expect(parseCookie('0x00AB')).toBe('0xab');
    expect(parseCookie(171)).toBe('0xab');
    expect(parseCookie(171n)).toBe('0xab');
    expect(parseCookie('171')).toBe('0xab');
    expect(parseCookie('0xFFFFFFFFFFFFFFFF')).toBe('0xffffffffffffffff');
    expect(parseCookie(0)).toBe('0x0');
    expect(formatCookie(parseCookie('0x0001'))).toBe('0x1');
  });
  test.each(['0x10000000000000000', '18446744073709551616', -1, -1n, 'abc', '0x', 1.5, ''])('rejects %s', (c) => {
    expect(problemOf(() => parseCookie(c)).reason).toContain('64-bit');
  });
  test('property: bigint round trip', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => {
        const c = parseCookie(n);
        return cookieToBigInt(c) === n && parseCookie(c) === c && /^0x(0|[1-9a-f][0-9a-f]*)$/.test(c);
      }),
    );
  });
});

describe('ids and ports', () => {
  test('group ids', () => {
    expect(parseGroupId(1)).toBe(1);
    expect(parseGroupId(0xffffff00)).toBe(0xffffff00);
    expect(problemOf(() => parseGroupId(0)).reason).toContain('1..4294967040');
    expect(problemOf(() => parseGroupId(0xffffff01)).reason).toContain('1..4294967040');
  });
  test('bucket ids', () => {
    expect(parseBucketId(0)).toBe(0);
    expect(parseBucketId('4294967040')).toBe(0xffffff00);
    expect(problemOf(() => parseBucketId(0xffffff01)).reason).toContain('0..4294967040');
  });
  test('udp ports', () => {
    expect(parseUdpPort(5004)).toBe(5004);
    expect(problemOf(() => parseUdpPort(0)).reason).toContain('1..65535');
    expect(problemOf(() => parseUdpPort(65536)).reason).toContain('1..65535');
  });
});

describe('deterministicName', () => {
  test('documented examples', () => {
    const n = deterministicName('gre-', ['hv1', 'hv2']);
    expect(n).toMatch(/^gre-hv1-[0-9a-f]{6}$/);
    expect(deterministicName('gre-', ['hv1', 'hv2'])).toBe(n);
    expect(deterministicName('gre-', ['hv2', 'hv1'])).not.toBe(n);
    expect(deterministicName('gre-', [], 10)).toMatch(/^gre-[0-9a-f]{6}$/);
    expect(deterministicName('patch-', ['a very long node name'])).toMatch(/^patch-av-[0-9a-f]{6}$/);
  });
  test('the hash separates part lists that read the same', () => {
    expect(deterministicName('x', ['a-b', 'c'])).not.toBe(deterministicName('x', ['a', 'b-c']));
  });
  test('rejects prefixes that leave no room or are invalid', () => {
    expect(problemOf(() => deterministicName('abcdefghijk', ['x'])).property).toBe('prefix');
    expect(problemOf(() => deterministicName('-x', ['x'])).property).toBe('prefix');
  });
  test('property: always a valid, capped, stable name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('', 'gre-', 'p', 'vpm.', 'tap'),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
        fc.integer({ min: 10, max: 15 }),
        (prefix, parts, max) => {
          const n = deterministicName(prefix, parts, max);
          return (
            n.length <= max && NAME_PATTERN.test(n) && n.startsWith(prefix) && n === deterministicName(prefix, parts, max)
          );
        },
      ),
    );
  });
});
