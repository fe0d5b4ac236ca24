/**
 * Parser of `virsh event --loop --all --timestamp` output (libvirt 9, as recorded on the lab):
 *
 *   2026-11-25 21:39:20.066+0000: event 'lifecycle' for domain 'leafvm': Stopped Destroyed
 *   event 'migration-iteration' for domain 'leafvm': iteration: '1'          (no --timestamp)
 *   event 'reboot' for domain 'leafvm'
 *   event 'job-completed' for domain 'leafvm':                                (then key lines:)
 *   \toperation: 5
 *   \ttime_elapsed: 1399
 *
 * A line is one event unless it ends with ':' and is followed by tab-indented `key: value`
 * lines (job-completed, tunable); such an event is complete at the next event line or at
 * flush() (the stream calls it when the output goes quiet). Lines that are not events
 * (virsh's "events received" summary, blank lines) are ignored; an event line that cannot be
 * read is reported as type domain.unknown with the raw text, never dropped.
 */
import { LineBuffer } from './lines';
import type { RawEvent } from './types';

/** libvirt lifecycle event names virsh prints (virDomainEventType). */
export const LIFECYCLE_EVENTS: ReadonlySet<string> = new Set([
  'Defined',
  'Undefined',
  'Started',
  'Suspended',
  'Resumed',
  'Stopped',
  'Shutdown',
  'PMSuspended',
  'Crashed',
]);

const EVENT_LINE = /^(?:(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{4}): )?event '([a-z0-9-]+)' for domain '([^']*)'(:.*)?$/;

/** "2026-11-25" "21:39:20.066" "+0000" -> ISO 8601. */
function isoTime(date: string, time: string, zone: string): string | undefined {
  const t = Date.parse(`${date}T${time}${zone.slice(0, 3)}:${zone.slice(3)}`);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

interface Pending {
  event: Record<string, unknown>;
  fields: Record<string, string>;
}

/** Detail lines kept per event. */
const MAX_FIELDS = 64;

export class VirshEventParser {
  private pending?: Pending;
  readonly lines = new LineBuffer();

  /** Feeds output; returns the events completed by it. */
  push(chunk: string): RawEvent[] {
    const out: RawEvent[] = [];
    for (const raw of this.lines.push(chunk)) out.push(...this.line(raw.replace(/\r$/, '')));
    return out;
  }

  /** Completes a multi-line event waiting for more lines (and a final line without newline). */
  flush(): RawEvent[] {
    const out: RawEvent[] = [];
    const rest = this.lines.peek();
    if (rest.trim() !== '' && !rest.startsWith('\t')) out.push(...this.line(this.lines.rest()));
    if (this.pending) out.push(this.finish(this.pending));
    this.pending = undefined;
    return out;
  }

  /** Whether a multi-line event is waiting for flush(). */
  get waiting(): boolean {
    return this.pending !== undefined;
  }

  private finish(p: Pending): RawEvent {
    return (Object.keys(p.fields).length ? { ...p.event, fields: p.fields } : p.event) as unknown as RawEvent;
  }

  private line(line: string): RawEvent[] {
    if (/^\t/.test(line) && this.pending) {
      const kv = /^\t([^:]+):\s?(.*)$/.exec(line);
      // At most MAX_FIELDS per event: a host cannot grow one pending event without bound.
      if (kv && Object.keys(this.pending.fields).length < MAX_FIELDS) this.pending.fields[kv[1]!.trim()] = kv[2]!.trim();
      return [];
    }
    const out: RawEvent[] = [];
    if (this.pending) {
      out.push(this.finish(this.pending));
      this.pending = undefined;
    }
    if (line.trim() === '') return out;
    const m = EVENT_LINE.exec(line);
    if (!m) {
      if (/^events received:/i.test(line.trim())) return out;
      if (/\bevent\b/.test(line)) out.push({ source: 'libvirt', type: 'domain.unknown', raw: line });
      return out;
    }
    const [, date, time, zone, kind, domain, rest] = m;
    const event: Record<string, unknown> = {
      source: 'libvirt',
      type: `domain.${kind}`,
      ...(date && time && zone && isoTime(date, time, zone) ? { at: isoTime(date, time, zone) } : {}),
      domain,
    };
    const tail = (rest ?? '').replace(/^:/, '').trim();
    if (kind === 'lifecycle') {
      const words = tail.split(/\s+/);
      const name = words[0] ?? '';
      if (LIFECYCLE_EVENTS.has(name)) {
        event.event = name;
        event.detail = words.slice(1).join(' ');
      } else event.detail = tail;
    } else if (tail !== '') {
      event.detail = tail;
      const kv = /^([a-z_ -]+): '?([^']*)'?$/.exec(tail);
      if (kv) event.fields = { [kv[1]!.trim()]: kv[2]! };
    }
    // "event 'job-completed' for domain 'x':" with nothing after the colon: key lines follow.
    if (rest === ':' || (rest !== undefined && tail === '' && rest.endsWith(':'))) {
      this.pending = { event, fields: {} };
      return out;
    }
    out.push(event as unknown as RawEvent);
    return out;
  }
}

/** Parses a whole recorded output (tests, and the end of a stream). */
export function parseVirshEvents(text: string): RawEvent[] {
  const p = new VirshEventParser();
  return [...p.push(text.endsWith('\n') ? text : `${text}\n`), ...p.flush()];
}
