/**
 * `vpm watch`: subscribes to every host of a stack (libvirt domain events through
 * `virsh event --loop --all --timestamp`, OVSDB Interface changes through `ovsdb-client
 * monitor`, each over its own reconnecting SSH stream) and hands each event, with the common
 * fields of types.ts, to the callbacks (dispatch.ts) and to `onEvent`.
 *
 * --react (opt-in): when a VM starts or stops (not as part of a migration), or an interface
 * appears or disappears on a host, run `pulumi up --refresh` (refresh, then update, in one
 * engine run) on the stack through the Automation API, so the flows follow (the paper's "VM added": a relay VM booting makes
 * that relay's flows go through the VM). Events are coalesced for `debounceMs`; one reaction
 * runs at a time and events during it schedule exactly one more (whose refresh + up find
 * nothing to do once the hosts match the program, so it never loops). A stack locked by
 * another update is retried later. Each reaction is itself an event (reaction.started /
 * finished / failed) for the callbacks.
 *
 * Reactions are rate-limited (a token bucket: `reactBurst` at once, then one per
 * `reactEveryMs`; default 3, then one a minute): a guest that flaps, or a reaction whose own
 * changes raise new events, cannot drive `pulumi up` in a loop. A deferred reaction is
 * announced once (reaction.deferred) and runs when the bucket allows.
 */
import { randomUUID } from 'node:crypto';
import { Dispatcher, type CallbackStats, type DispatchOptions } from './dispatch';
import { OvsdbMonitorParser, ovsdbMonitorArgv } from './ovsdb-events';
import { RemoteStream, type StreamState } from './ssh-stream';
import { EVENT_VERSION, type RawEvent, type VpmEvent } from './types';
import { VirshEventParser } from './virsh-events';
import type { ModelHost, StackModel } from '../model';
import { DEFAULT_PROGRAM, selectStack } from '../pulumi';
import { loadStack } from '../stack';

export const VIRSH_EVENT_ARGV: readonly string[] = ['virsh', 'event', '--loop', '--all', '--timestamp'];

export interface WatchOptions {
  readonly stack: string;
  readonly callbacks: readonly string[];
  readonly react?: boolean;
  readonly program?: string;
  readonly log?: (line: string) => void;
  readonly onEvent?: (e: VpmEvent) => void;
  readonly dispatch?: DispatchOptions;
  /** Quiet time before a reaction; default 1500 ms. */
  readonly debounceMs?: number;
  /** A model instead of reading the stack (tests). */
  readonly model?: StackModel;
  /** Reactions allowed at once (default 3), then one per reactEveryMs (default 60 s). */
  readonly reactBurst?: number;
  readonly reactEveryMs?: number;
  /** How a reaction runs (tests); default `pulumi up --refresh` through the Automation API. */
  readonly runReaction?: () => Promise<Record<string, number>>;
}

/** A token bucket: `burst` takes at once, one more every `everyMs`. */
export class RateLimiter {
  private tokens: number;
  private at: number;
  constructor(
    private readonly burst: number,
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }
  private refill(): void {
    const t = this.now();
    const add = Math.floor((t - this.at) / this.everyMs);
    if (add > 0) {
      this.tokens = Math.min(this.burst, this.tokens + add);
      this.at = this.tokens === this.burst ? t : this.at + add * this.everyMs;
    }
  }
  /** Takes a token; 0 when taken, else the ms until one is free. */
  take(): number {
    this.refill();
    if (this.tokens > 0) {
      this.tokens--;
      return 0;
    }
    return Math.max(1, this.at + this.everyMs - this.now());
  }
}

export interface Watch {
  /** Resolves once every host's streams have connected once (or failed to), at most `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  streams(): Array<{ host: string; what: string; state: StreamState }>;
  callbacks(): CallbackStats[];
  close(): Promise<void>;
}

/** Whether an event should make --react run refresh + up. */
export function triggersReaction(e: RawEvent): boolean {
  if (e.source === 'libvirt' && e.type === 'domain.lifecycle') {
    const ev = e.event as string | undefined;
    const detail = String(e.detail ?? '');
    if (/Migrated/.test(detail)) return false; // part of a live migration (an update in progress)
    return ev === 'Started' || ev === 'Stopped' || ev === 'Crashed';
  }
  if (e.source === 'ovsdb') return e.type === 'interface.insert' || e.type === 'interface.delete';
  return false;
}

export class Reactor {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private triggers: VpmEvent[] = [];
  private closed = false;

  private deferredAnnounced = false;

  constructor(
    private readonly stackName: string,
    private readonly program: string,
    private readonly debounceMs: number,
    private readonly emit: (e: RawEvent) => void,
    private readonly log: (line: string) => void,
    private readonly limiter: RateLimiter,
    private readonly run?: () => Promise<Record<string, number>>,
  ) {}

  notice(e: VpmEvent): void {
    if (this.closed) return;
    this.triggers.push(e);
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), this.debounceMs);
  }

  private start(): void {
    if (this.closed || this.running) return;
    const wait = this.limiter.take();
    if (wait > 0) {
      if (!this.deferredAnnounced) {
        this.deferredAnnounced = true;
        this.emit({ source: 'vpm', type: 'reaction.deferred', inMs: wait });
        this.log(`watch: too many reactions; the next pulumi up --refresh of ${this.stackName} waits ${Math.ceil(wait / 1000)} s (rate limit)`);
      }
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.start(), wait);
      return;
    }
    this.deferredAnnounced = false;
    const trigger = this.triggers.splice(0);
    this.running = this.react(trigger).finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.start(), this.debounceMs);
      }
    });
  }

  private async react(trigger: VpmEvent[]): Promise<void> {
    const names = trigger.map((t) => `${t.host ?? '?'}:${t.type}${t.domain ? `:${t.domain}` : ''}${t.interface ? `:${t.interface}` : ''}${t.event ? `:${t.event}` : ''}`);
    const summary = [...new Set(names)].slice(0, 20);
    this.emit({ source: 'vpm', type: 'reaction.started', trigger: summary });
    this.log(`watch: reacting to ${summary.join(', ')}: pulumi up --refresh of ${this.stackName}`);
    const t0 = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const changes = this.run ? await this.run() : await this.upRefresh();
        this.emit({
          source: 'vpm',
          type: 'reaction.finished',
          trigger: summary,
          changes,
          ms: Date.now() - t0,
        });
        this.log(`watch: reaction done in ${Date.now() - t0} ms: ${JSON.stringify(changes)}`);
        return;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const locked = /locked|currently.*update|conflict/i.test(msg);
        if (locked && attempt < 6 && !this.closed) {
          this.log(`watch: stack ${this.stackName} is busy (another update); retrying in 5 s`);
          await new Promise((r) => setTimeout(r, 5000));
          continue;
        }
        const short = msg.split('\n').filter((l) => l.trim()).slice(-3).join(' | ').slice(0, 600);
        this.emit({ source: 'vpm', type: 'reaction.failed', trigger: summary, error: short, ms: Date.now() - t0 });
        this.log(`watch: reaction failed: ${short}`);
        return;
      }
    }
  }

  /** `up --refresh`: refresh and update in one engine run (one program start, one provider process). */
  private async upRefresh(): Promise<Record<string, number>> {
    const stack = await selectStack(this.stackName, { program: this.program });
    const up = await stack.up({ refresh: true, onOutput: () => undefined });
    return (up.summary.resourceChanges ?? {}) as Record<string, number>;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

export async function startWatch(options: WatchOptions): Promise<Watch> {
  const log = options.log ?? (() => undefined);
  const model = options.model ?? (await loadStack(options.stack)).model;
  const dispatcher = new Dispatcher(options.callbacks, { log, ...options.dispatch });
  const managed = new Set(model.vms.map((v) => v.name));
  let seq = 0;

  // Set after the reactor exists (its own events go through `publish` too).
  let reactor: Reactor | undefined;
  const publish = (raw: RawEvent, host?: ModelHost): VpmEvent => {
    const now = new Date().toISOString();
    const e: VpmEvent = {
      ...raw,
      version: EVENT_VERSION,
      id: randomUUID(),
      seq: ++seq,
      stack: options.stack,
      ...(host ? { host: host.name, nodes: host.nodes } : {}),
      ...(raw.source === 'libvirt' && typeof raw.domain === 'string' ? { managed: managed.has(raw.domain) } : {}),
      at: raw.at ?? now,
      receivedAt: now,
    };
    try {
      options.onEvent?.(e);
    } catch (err) {
      log(`watch: onEvent failed: ${err instanceof Error ? err.message : err}`);
    }
    dispatcher.post(e);
    if (reactor && triggersReaction(e)) reactor.notice(e);
    return e;
  };
  if (options.react) {
    const limiter = new RateLimiter(options.reactBurst ?? 3, options.reactEveryMs ?? 60_000);
    reactor = new Reactor(options.stack, options.program ?? DEFAULT_PROGRAM, options.debounceMs ?? 1500, (r) => publish(r), log, limiter, options.runReaction);
  }

  const streams: Array<{ host: string; what: string; stream: RemoteStream; firstState: Promise<void> }> = [];
  for (const host of model.hosts) {
    const online = { libvirt: false, ovsdb: false };
    let announced: boolean | undefined;
    const announce = () => {
      // A host is online while at least one of its event streams runs.
      const now = online.libvirt || online.ovsdb;
      if (announced === now) return;
      if (announced === undefined && now === false) return; // still connecting: nothing to say yet
      announced = now;
      publish({ source: 'vpm', type: now ? 'host.online' : 'host.offline' }, host);
    };
    for (const what of ['libvirt', 'ovsdb'] as const) {
      const parser = what === 'libvirt' ? new VirshEventParser() : new OvsdbMonitorParser();
      let settle!: () => void;
      const firstState = new Promise<void>((r) => (settle = r));
      const stream = new RemoteStream({
        connection: host.connection,
        argv: what === 'libvirt' ? VIRSH_EVENT_ARGV : ovsdbMonitorArgv(),
        onData: (text) => {
          for (const raw of parser.push(text)) publish(raw, host);
        },
        onQuiet: () => {
          if (parser instanceof VirshEventParser && parser.waiting) for (const raw of parser.flush()) publish(raw, host);
        },
        onState: (state, detail) => {
          if (state === 'running') {
            settle();
            online[what] = true;
            announce();
          } else if (state === 'down') {
            settle();
            const was = online[what];
            online[what] = false;
            if (was || announced === undefined) log(`watch: ${host.name} ${what} events: ${detail ?? 'down'}; reconnecting`);
            if (announced === undefined) announced = true; // first failure: report offline below
            announce();
          }
        },
      });
      streams.push({ host: host.name, what, stream, firstState });
    }
  }
  for (const s of streams) s.stream.start();

  return {
    async ready(timeoutMs = 15_000) {
      await Promise.race([Promise.all(streams.map((s) => s.firstState)), new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
    },
    streams: () => streams.map((s) => ({ host: s.host, what: s.what, state: s.stream.state })),
    callbacks: () => dispatcher.stats(),
    async close() {
      await Promise.all(streams.map((s) => s.stream.stop()));
      await reactor?.close();
      await dispatcher.close();
    },
  };
}
