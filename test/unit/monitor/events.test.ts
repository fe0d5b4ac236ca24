/**
 * `vpm watch` without hosts: the event parsers on output recorded on the lab (`virsh event
 * --loop --all --timestamp` around suspend/resume/destroy/start and a live migration,
 * `ovsdb-client monitor --format=json ... Interface` around a port added and removed and a
 * VM stopped and started), which events make --react run, the JSON shape of a published
 * event, and the delivery rules (retries, and a slow or dead callback never holds up another).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Dispatcher } from '../../../monitor/events/dispatch';
import { OvsdbMonitorParser, ovsdbMonitorArgv, parseOvsdbMonitor } from '../../../monitor/events/ovsdb-events';
import { lifelineArgv } from '../../../monitor/events/ssh-stream';
import { EVENT_VERSION, type VpmEvent } from '../../../monitor/events/types';
import { parseVirshEvents, VirshEventParser } from '../../../monitor/events/virsh-events';
import { triggersReaction } from '../../../monitor/events/watch';

const FIX = path.join(__dirname, 'fixtures');
const read = (f: string) => fs.readFileSync(path.join(FIX, f), 'utf8');

describe('virsh event parser', () => {
  test('lifecycle events with timestamps: event, detail, domain, ISO time', () => {
    const events = parseVirshEvents(read('virsh-event.txt'));
    expect(events.map((e) => [e.type, e.domain, e.event, e.detail])).toEqual([
      ['domain.lifecycle', 'leafvm', 'Suspended', 'Paused'],
      ['domain.lifecycle', 'leafvm', 'Resumed', 'Unpaused'],
      ['domain.lifecycle', 'leafvm', 'Shutdown', 'Finished after host request'],
      ['domain.lifecycle', 'leafvm', 'Stopped', 'Destroyed'],
      ['domain.lifecycle', 'leafvm', 'Resumed', 'Unpaused'],
      ['domain.lifecycle', 'leafvm', 'Started', 'Booted'],
    ]);
    expect(events[0]).toEqual({ source: 'libvirt', type: 'domain.lifecycle', at: '2026-11-25T21:39:16.704Z', domain: 'leafvm', event: 'Suspended', detail: 'Paused' });
  });

  test('a live migration seen from the source: iterations, Suspended/Stopped Migrated, job-completed with its fields', () => {
    const events = parseVirshEvents(read('virsh-event-migration-source.txt'));
    expect(events.map((e) => `${e.type} ${e.event ?? ''} ${e.detail ?? ''}`.trim())).toEqual([
      "domain.migration-iteration  iteration: '1'",
      "domain.migration-iteration  iteration: '2'",
      'domain.lifecycle Suspended Migrated',
      "domain.migration-iteration  iteration: '3'",
      'domain.lifecycle Stopped Migrated',
      'domain.job-completed',
    ]);
    expect(events[0]!.fields).toEqual({ iteration: '1' });
    const job = events[5]!.fields as Record<string, string>;
    expect(job).toMatchObject({ operation: '5', time_elapsed: '1399', downtime: '44', data_total: '101203968', memory_iteration: '3' });
    expect(Object.keys(job)).toHaveLength(23);
    expect(events[5]!.at).toBeUndefined(); // recorded without --timestamp
  });

  test('the destination: Started, Defined, Resumed (all "Migrated")', () => {
    expect(parseVirshEvents(read('virsh-event-migration-dest.txt')).map((e) => `${e.event} ${e.detail}`)).toEqual(['Started Migrated', 'Defined Added', 'Resumed Migrated']);
  });

  test('streaming: lines split across chunks; a multi-line event waits for the next event or flush()', () => {
    const p = new VirshEventParser();
    expect(p.push("event 'lifecycle' for domain 'a': Sta")).toEqual([]);
    expect(p.push("rted Booted\nevent 'job-completed' for domain 'a':\n\toperation: 5\n")).toEqual([
      { source: 'libvirt', type: 'domain.lifecycle', domain: 'a', event: 'Started', detail: 'Booted' },
    ]);
    expect(p.waiting).toBe(true);
    expect(p.push('\tdowntime: 44\n')).toEqual([]);
    expect(p.flush()).toEqual([{ source: 'libvirt', type: 'domain.job-completed', domain: 'a', fields: { operation: '5', downtime: '44' } }]);
    expect(p.waiting).toBe(false);
    // The next event line completes it too.
    p.push("event 'job-completed' for domain 'a':\n\toperation: 1\n");
    expect(p.push("event 'reboot' for domain 'a'\n").map((e) => e.type)).toEqual(['domain.job-completed', 'domain.reboot']);
  });

  test('unknown lines: a summary line is ignored, an unreadable event line is kept raw', () => {
    expect(parseVirshEvents('events received: 3\n\n')).toEqual([]);
    expect(parseVirshEvents("event 'lifecycle' for something else\n")).toEqual([{ source: 'libvirt', type: 'domain.unknown', raw: "event 'lifecycle' for something else" }]);
  });
});

describe('ovsdb-client monitor parser', () => {
  const events = parseOvsdbMonitor(read('ovsdb-monitor-interface.jsonl'));

  test('initial rows are remembered, not reported; insert, modify (old/new pairs), delete', () => {
    expect(events.map((e) => `${e.type} ${e.interface}`)).toEqual([
      'interface.insert mon-tst',
      'interface.modify mon-tst',
      'interface.modify vt-leafvm',
      'interface.modify vt-leafvm',
      'interface.delete mon-tst',
    ]);
  });

  test('values as plain JSON (empty sets null, maps objects) and the changed columns', () => {
    expect(events[0]).toMatchObject({ source: 'ovsdb', row: '96ea1893-9c0b-416e-8108-0ecb100923eb', values: { name: 'mon-tst', type: 'internal', ofport: null, external_ids: { 'vpm-owner': 'test' } } });
    expect(events[1]!.changes).toEqual({ ofport: { old: null, new: 2 }, link_state: { old: null, new: 'down' }, admin_state: { old: null, new: 'down' } });
    expect(events[2]!.changes).toEqual({ link_state: { old: 'up', new: 'down' } });
    expect(events[3]!.changes).toEqual({ link_state: { old: 'down', new: 'up' } });
    expect(events[4]!.values).toMatchObject({ name: 'mon-tst', ofport: 2 });
  });

  test('the parser knows the table after the updates', () => {
    const p = new OvsdbMonitorParser();
    p.push(read('ovsdb-monitor-interface.jsonl'));
    expect([...p.known.values()].map((v) => v.name).sort()).toEqual(['br0', 'br1', 'eth0', 'gre-h2', 'gre-h4', 'patch-ovl', 'patch-phy', 'vt-leafvm']);
  });

  test('argv: one table, the watched columns comma-separated', () => {
    expect(ovsdbMonitorArgv()).toEqual(['ovsdb-client', 'monitor', '--format=json', 'Open_vSwitch', 'Interface', 'name,type,ofport,link_state,admin_state,external_ids']);
  });
});

describe('reactions and remote clean-up', () => {
  test('refresh + up on VM start/stop (not migrations) and on interfaces appearing or disappearing', () => {
    const virsh = parseVirshEvents(read('virsh-event.txt') + read('virsh-event-migration-dest.txt'));
    expect(virsh.filter(triggersReaction).map((e) => `${e.event} ${e.detail}`)).toEqual(['Stopped Destroyed', 'Started Booted']);
    const ovsdb = parseOvsdbMonitor(read('ovsdb-monitor-interface.jsonl'));
    expect(ovsdb.filter(triggersReaction).map((e) => e.type)).toEqual(['interface.insert', 'interface.delete']);
    expect(triggersReaction({ source: 'vpm', type: 'reaction.finished' })).toBe(false);
  });

  test('the lifeline keeps the argv intact after a fixed sh prologue', () => {
    const a = lifelineArgv(['virsh', 'event', '--loop']);
    expect(a.slice(0, 2)).toEqual(['sh', '-c']);
    expect(a[2]).toContain('kill -TERM 0');
    expect(a.slice(3)).toEqual(['sh', 'virsh', 'event', '--loop']);
  });
});

function event(seq: number): VpmEvent {
  return { version: EVENT_VERSION, id: `id-${seq}`, seq, stack: 's', host: 'h3', source: 'libvirt', type: 'domain.lifecycle', domain: 'vm', at: 't', receivedAt: 't' };
}

/** A local HTTP server that records bodies; `answer` decides status and delay per request. */
async function server(answer: (n: number) => { status: number; delayMs?: number }) {
  const got: Array<{ body: any; at: number; headers: http.IncomingHttpHeaders }> = [];
  let n = 0;
  const s = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      const a = answer(n++);
      setTimeout(() => {
        if (a.status < 300) got.push({ body: JSON.parse(b), at: Date.now(), headers: req.headers });
        res.statusCode = a.status;
        res.end();
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/cb`, got, close: () => new Promise((r) => s.close(r)) };
}

describe('Dispatcher', () => {
  test('POSTs every event as JSON in order, with its id header', async () => {
    const a = await server(() => ({ status: 204 }));
    const d = new Dispatcher([a.url]);
    for (let i = 1; i <= 3; i++) d.post(event(i));
    await d.close(5000);
    expect(a.got.map((g) => g.body.seq)).toEqual([1, 2, 3]);
    expect(a.got[0]!.headers['content-type']).toBe('application/json');
    expect(a.got[0]!.headers['x-vpm-event-id']).toBe('id-1');
    expect(d.stats()).toEqual([{ url: a.url, delivered: 3, failed: 0, dropped: 0, queued: 0 }]);
    await a.close();
  });

  test('retries 5xx and network errors with backoff; a 4xx is final', async () => {
    const flaky = await server((n) => ({ status: n < 2 ? 503 : 200 }));
    const refusing = await server(() => ({ status: 400 }));
    const d = new Dispatcher([flaky.url, refusing.url], { backoffMs: 20, log: () => undefined });
    d.post(event(1));
    await d.close(5000);
    expect(flaky.got.map((g) => g.body.seq)).toEqual([1]);
    const [f, r] = d.stats();
    expect(f).toMatchObject({ delivered: 1, failed: 0 });
    expect(r).toMatchObject({ delivered: 0, failed: 1, lastError: 'HTTP 400' });
    await flaky.close();
    await refusing.close();
  });

  test('a slow callback and a dead one never hold up a healthy one', async () => {
    const healthy = await server(() => ({ status: 200 }));
    const slow = await server(() => ({ status: 200, delayMs: 800 }));
    const dead = 'http://127.0.0.1:9/nobody'; // discard port: refused
    const d = new Dispatcher([slow.url, dead, healthy.url], { backoffMs: 200, attempts: 3, timeoutMs: 2000, log: () => undefined });
    const t0 = Date.now();
    for (let i = 1; i <= 3; i++) d.post(event(i));
    const deadline = Date.now() + 5000;
    while (healthy.got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(healthy.got.map((g) => g.body.seq)).toEqual([1, 2, 3]);
    expect(Date.now() - t0).toBeLessThan(600); // well before the slow one took even its first
    expect(slow.got.length).toBeLessThan(3);
    await d.close(5000);
    expect(slow.got.map((g) => g.body.seq)).toEqual([1, 2, 3]);
    expect(d.stats()[1]).toMatchObject({ delivered: 0, failed: 3 });
    await healthy.close();
    await slow.close();
  });

  test('a bounded queue drops the oldest events of a stuck callback and counts them', async () => {
    const never: typeof fetch = () => new Promise(() => undefined);
    const d = new Dispatcher(['http://127.0.0.1:9/x'], { maxQueue: 2, fetch: never });
    for (let i = 1; i <= 5; i++) d.post(event(i));
    expect(d.stats()[0]).toMatchObject({ dropped: 2, queued: 2 });
    await d.close(10);
  });

  test('refuses callback URLs that are not http(s)', () => {
    expect(() => new Dispatcher(['file:///etc/passwd'])).toThrow(/only http/);
  });
});
