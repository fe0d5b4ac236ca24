/**
 * Watches on the lab's libvirtds for the migration benchmark: when a domain runs on a host
 * (polled, our clock) and the lifecycle events with libvirtd's own timestamps.
 */
import { spawn } from 'node:child_process';
import { sh } from '../../lab/sh';
import { sleep } from './common';
import { parseLifecycleLine, type LifecycleEvent } from './gap-analysis';

/** Polls `virsh domstate` on a libvirtd until the domain runs there; stop() gives that time. */
export function watchResume(libvirtUri: string, domain: string): { stop: () => Promise<number | undefined> } {
  let resumedAt: number | undefined;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && resumedAt === undefined) {
      const r = await sh(['virsh', '-q', '-c', libvirtUri, 'domstate', domain], { okCodes: 'any', timeoutMs: 10_000 }).catch(() => undefined);
      if (r && r.code === 0 && r.stdout.trim().startsWith('running')) resumedAt = Date.now();
      else await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return resumedAt;
    },
  };
}

/**
 * Records lifecycle events (Suspended Migrated on the source, Resumed Migrated on the
 * destination) from both libvirtds with their own timestamps: when the VM really stopped and
 * ran again, to set beside the receiver's gap.
 */
export function watchLifecycle(uris: Record<string, string>): { stop: () => Promise<LifecycleEvent[]> } {
  const events: LifecycleEvent[] = [];
  const children = Object.entries(uris).map(([host, uri]) => {
    const child = spawn('virsh', ['-c', uri, 'event', '--loop', '--event', 'lifecycle', '--timestamp'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const e = parseLifecycleLine(l, host);
        if (e) events.push(e);
      }
    });
    return child;
  });
  return {
    async stop() {
      await sleep(200); // events are delivered asynchronously
      for (const c of children) c.kill('SIGTERM');
      return events.sort((a, b) => a.t - b.t);
    },
  };
}
