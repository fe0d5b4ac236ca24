/**
 * The guest readiness probe, offline: the frames it sends (exact bytes), the reply-catching
 * flow, and the probe loop against a recording runner: it returns once the flow has counted a
 * reply, fails after its timeout naming the domain, address and port, and always removes its flow.
 */
import { RecordingRunner } from '../../../providers/exec/recording';
import { arpRequestHex, ipChecksum, udpPacketHex } from '../../../providers/ovs/packet';
import { probeCookie, replyFlow, waitUntilGuestAnswers, PROBE_SRC_PORT } from '../../../providers/migrated-domain/readiness';
import { flowToOfctl } from '../../../providers/ovs/flow';

const NET = { bridge: 'br1', tap: 'vt-leafvm', ofport: 321, mac: '52:54:00:aa:bb:cc' };
const PROBE = { port: 7000, ip: '10.99.2.7', probeIp: '10.99.255.254', probeMac: '02:56:50:50:52:01', timeoutMs: 1500 };
const OWNER = 'vpm/lab/tree-vm-leafvm';

describe('frames', () => {
  test('ARP request: broadcast, who-has the guest, tell the probe', () => {
    expect(arpRequestHex({ senderMac: PROBE.probeMac, senderIp: PROBE.probeIp, targetIp: PROBE.ip })).toBe(
      'ffffffffffff' + '025650505201' + '0806' + '0001' + '0800' + '06' + '04' + '0001' + '025650505201' + '0a63fffe' + '000000000000' + '0a630207',
    );
  });

  test('UDP datagram: lengths, a valid IPv4 header checksum, no UDP checksum, the payload', () => {
    const h = udpPacketHex({ srcMac: PROBE.probeMac, dstMac: NET.mac, srcIp: PROBE.probeIp, dstIp: PROBE.ip, srcPort: PROBE_SRC_PORT, dstPort: 7000, payload: 'q\n' });
    const bytes = [...Buffer.from(h, 'hex')];
    expect(h.slice(0, 28)).toBe('525400aabbcc' + '025650505201' + '0800');
    const ip = bytes.slice(14, 34);
    expect(ip[0]).toBe(0x45);
    expect((ip[2] << 8) | ip[3]).toBe(20 + 8 + 2);
    expect(ip[9]).toBe(17);
    expect(ipChecksum(ip)).toBe(0); // a header with its checksum in place sums to 0
    const udp = bytes.slice(34, 42);
    expect((udp[0] << 8) | udp[1]).toBe(PROBE_SRC_PORT);
    expect((udp[2] << 8) | udp[3]).toBe(7000);
    expect((udp[4] << 8) | udp[5]).toBe(10);
    expect(Buffer.from(bytes.slice(42)).toString()).toBe('q\n');
  });

  test('bad values never reach the frame', () => {
    expect(() => arpRequestHex({ senderMac: 'zz', senderIp: PROBE.probeIp, targetIp: PROBE.ip })).toThrow(/senderMac/);
    expect(() => udpPacketHex({ srcMac: PROBE.probeMac, dstMac: NET.mac, srcIp: '1.2.3', dstIp: PROBE.ip, srcPort: 1, dstPort: 2, payload: '' })).toThrow(/srcIp/);
  });
});

test('the reply flow: from the VM port, the guest port to the probe, counted and dropped, above every path flow', () => {
  expect(flowToOfctl(replyFlow(NET, PROBE, OWNER), 'add')).toBe(
    `table=0,priority=60000,cookie=${probeCookie(OWNER)},udp,in_port=321,nw_src=10.99.2.7,nw_dst=10.99.255.254,tp_src=7000,tp_dst=${PROBE_SRC_PORT},actions=drop`,
  );
  expect(probeCookie(OWNER)).toMatch(/^0x56505242[0-9a-f]{8}$/);
  expect(probeCookie(OWNER)).not.toBe(probeCookie('vpm/lab/tree-vm-other'));
});

function guest(answersAfterRounds: number | null): RecordingRunner {
  let queries = 0;
  return new RecordingRunner({
    host: 'root@10.250.0.13:22',
    handler: (call) => {
      const cmd = call.argv.join(' ');
      if (cmd.includes('packet-out') && cmd.includes('actions=output:321') && cmd.includes('0800450')) queries++;
      if (cmd.includes('dump-flows')) {
        const n = answersAfterRounds !== null && queries >= answersAfterRounds ? 1 : 0;
        return { stdout: ` cookie=${probeCookie(OWNER)}, duration=1.0s, table=0, n_packets=${n}, n_bytes=${n * 60}, priority=60000,udp,in_port=321 actions=drop\n` };
      }
      return { stdout: '' };
    },
  });
}

describe('waitUntilGuestAnswers', () => {
  test('returns once the guest has answered, and removes its flow', async () => {
    const runner = guest(3);
    const ms = await waitUntilGuestAnswers(runner, 'leafvm', NET, { ...PROBE, timeoutMs: 30_000 }, OWNER);
    expect(ms).toBeGreaterThanOrEqual(0);
    const cmds = runner.calls.map((c) => c.argv.join(' '));
    expect(cmds[0]).toMatch(/--bundle add-flows br1 -/);
    expect(cmds.filter((c) => c.includes('packet-out')).length).toBe(6); // ARP + query, three rounds
    expect(cmds[cmds.length - 1]).toBe(`ovs-ofctl -O OpenFlow15 del-flows br1 cookie=${probeCookie(OWNER)}/-1`);
  });

  test('a guest that never answers: a clear error after the timeout, and the flow is removed', async () => {
    const runner = guest(null);
    const err = await waitUntilGuestAnswers(runner, 'leafvm', NET, PROBE, OWNER).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/leafvm on root@10\.250\.0\.13:22 is running but its guest did not answer on UDP 10\.99\.2\.7:7000 within 1500 ms/);
    expect((err as Error).message).toMatch(/readiness\.timeoutMs/);
    const cmds = runner.calls.map((c) => c.argv.join(' '));
    expect(cmds[cmds.length - 1]).toContain('del-flows br1');
  });
});
