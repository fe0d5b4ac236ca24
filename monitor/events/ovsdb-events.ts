/**
 * Parser of `ovsdb-client monitor --format=json Open_vSwitch Interface <columns>` output
 * (OVS 3.1, as recorded on the lab): one JSON table per update,
 *
 *   {"data":[[<row uuid>,"initial",<name>,<ofport>,...], ...],"headings":["row","action","name",...]}
 *   {"data":[[uuid,"insert",...]], ...}
 *   {"data":[[uuid,"old",<changed columns, others null>],["","new",<all columns>]], ...}
 *   {"data":[[uuid,"delete",...]], ...}
 *
 * `initial` rows are the table as it was when the monitor started: remembered (to name rows
 * in later events), not reported. insert / delete / old+new pairs become interface.insert /
 * interface.delete / interface.modify events. Note: `--timestamp` makes this ovsdb-client
 * print nothing in JSON mode, so times are those of reception.
 */
import { LineBuffer } from './lines';
import { decodeAtom, decodeStringMap, OvsdbJsonError } from '../../providers/ovs';
import type { RawEvent } from './types';

/** The Interface columns `vpm watch` follows. */
export const WATCHED_INTERFACE_COLUMNS: readonly string[] = ['name', 'type', 'ofport', 'link_state', 'admin_state', 'external_ids'];

export function ovsdbMonitorArgv(columns: readonly string[] = WATCHED_INTERFACE_COLUMNS): string[] {
  return ['ovsdb-client', 'monitor', '--format=json', 'Open_vSwitch', 'Interface', columns.join(',')];
}

/** A datum as plain JSON: atoms as is, sets as arrays (one element: the element), maps as objects. */
export function plainDatum(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v) && v[0] === 'map') {
    try {
      return decodeStringMap(v);
    } catch {
      return Object.fromEntries((v[1] as unknown[][]).map((p) => [String(plainDatum(p[0])), plainDatum(p[1])]));
    }
  }
  if (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1])) {
    const items = (v[1] as unknown[]).map(plainDatum);
    return items.length === 0 ? null : items.length === 1 ? items[0] : items;
  }
  try {
    const a = decodeAtom(v);
    return typeof a === 'object' ? a.uuid : a;
  } catch (e) {
    if (e instanceof OvsdbJsonError) return v;
    throw e;
  }
}

/** Interface rows remembered per stream (a big hypervisor has a few hundred). */
const MAX_ROWS = 10_000;

export class OvsdbMonitorParser {
  private readonly rows = new Map<string, Record<string, unknown>>();
  readonly lines = new LineBuffer();

  constructor(private readonly table = 'interface') {}

  /** Rows known now (uuid -> values), from initial rows and later events. */
  get known(): ReadonlyMap<string, Record<string, unknown>> {
    return this.rows;
  }

  /** Keeps a row, up to MAX_ROWS (a host cannot grow the map without bound; more just go unremembered). */
  private remember(uuid: string, values: Record<string, unknown>): void {
    if (this.rows.size < MAX_ROWS || this.rows.has(uuid)) this.rows.set(uuid, values);
  }

  push(chunk: string): RawEvent[] {
    const out: RawEvent[] = [];
    for (const raw of this.lines.push(chunk)) {
      const line = raw.trim();
      if (line) out.push(...this.update(line));
    }
    return out;
  }

  private update(line: string): RawEvent[] {
    let doc: { headings?: unknown; data?: unknown };
    try {
      doc = JSON.parse(line);
    } catch {
      return [{ source: 'ovsdb', type: `${this.table}.unknown`, raw: line.slice(0, 500) }];
    }
    if (!Array.isArray(doc.headings) || !Array.isArray(doc.data)) return [{ source: 'ovsdb', type: `${this.table}.unknown`, raw: line.slice(0, 500) }];
    const headings = doc.headings as string[];
    const columns = headings.slice(2);
    const valuesOf = (row: unknown[]) => Object.fromEntries(columns.map((c, i) => [c, plainDatum(row[i + 2])]));
    const out: RawEvent[] = [];
    const data = doc.data as unknown[][];
    for (let i = 0; i < data.length; i++) {
      const row = data[i]!;
      const uuid = String(row[0]);
      const action = String(row[1]);
      if (action === 'initial') {
        this.remember(uuid, valuesOf(row));
      } else if (action === 'insert') {
        const values = valuesOf(row);
        this.remember(uuid, values);
        out.push({ source: 'ovsdb', type: `${this.table}.insert`, interface: values.name, row: uuid, values });
      } else if (action === 'delete') {
        const values = { ...(this.rows.get(uuid) ?? {}), ...Object.fromEntries(Object.entries(valuesOf(row)).filter(([, v]) => v !== null)) };
        this.rows.delete(uuid);
        out.push({ source: 'ovsdb', type: `${this.table}.delete`, interface: values.name, row: uuid, values });
      } else if (action === 'old') {
        // The "new" half follows on the next row (its uuid column is empty).
        const next = data[i + 1];
        const oldRow = row;
        const newValues = next && String(next[1]) === 'new' ? valuesOf(next) : { ...(this.rows.get(uuid) ?? {}) };
        if (next && String(next[1]) === 'new') i++;
        const changes: Record<string, { old: unknown; new: unknown }> = {};
        columns.forEach((c, k) => {
          if (oldRow[k + 2] !== null && oldRow[k + 2] !== undefined) changes[c] = { old: plainDatum(oldRow[k + 2]), new: newValues[c] };
        });
        this.remember(uuid, newValues);
        out.push({ source: 'ovsdb', type: `${this.table}.modify`, interface: newValues.name, row: uuid, values: newValues, changes });
      } else if (action === 'new') {
        // A "new" without its "old" (should not happen): report as a modify without changes.
        const values = valuesOf(row);
        out.push({ source: 'ovsdb', type: `${this.table}.modify`, interface: values.name, row: uuid, values, changes: {} });
      }
    }
    return out;
  }
}

export function parseOvsdbMonitor(text: string): RawEvent[] {
  return new OvsdbMonitorParser().push(text.endsWith('\n') ? text : `${text}\n`);
}
