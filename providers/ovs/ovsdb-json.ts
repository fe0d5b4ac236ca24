/**
 * Decoding of `ovs-vsctl --format=json` output (RFC 7047 datum encoding):
 *   atom:  string | number | boolean | ["uuid", "..."] | ["named-uuid", "..."]
 *   set:   ["set", [atom...]]  -- a set of exactly one element is printed as the bare atom
 *   map:   ["map", [[key, value]...]]
 * An optional column (min 0, max 1) is a set: ["set", []] when empty, the atom otherwise.
 * Several commands in one call print one JSON document per line.
 */
import { show } from './values';

export type OvsdbAtom = string | number | boolean | { readonly uuid: string };

export class OvsdbJsonError extends Error {
  constructor(reason: string) {
    super(`cannot decode ovs-vsctl JSON output: ${reason}`);
    this.name = 'OvsdbJsonError';
  }
}

export interface OvsdbTable {
  readonly headings: readonly string[];
  /** One object per row, keyed by heading, values still in datum encoding. */
  readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/** Parses the stdout of one or more `--format=json list/find` commands. */
export function parseOvsdbTables(stdout: string): OvsdbTable[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch {
        throw new OvsdbJsonError(`not JSON: ${show(line)}`);
      }
      const d = doc as { headings?: unknown; data?: unknown };
      if (
        typeof doc !== 'object' || doc === null ||
        !Array.isArray(d.headings) || !d.headings.every((h) => typeof h === 'string') ||
        !Array.isArray(d.data)
      ) {
        throw new OvsdbJsonError(`not a table document: ${show(line)}`);
      }
      const headings = d.headings as string[];
      const rows = (d.data as unknown[]).map((row) => {
        if (!Array.isArray(row) || row.length !== headings.length) throw new OvsdbJsonError(`bad row ${show(row)}`);
        return Object.fromEntries(headings.map((h, i) => [h, row[i]]));
      });
      return { headings, rows };
    });
}

function isTagged(v: unknown, tag: string): v is [string, unknown] {
  return Array.isArray(v) && v.length === 2 && v[0] === tag;
}

export function decodeAtom(v: unknown): OvsdbAtom {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if ((isTagged(v, 'uuid') || isTagged(v, 'named-uuid')) && typeof v[1] === 'string') return { uuid: v[1] };
  throw new OvsdbJsonError(`not an atom: ${show(v)}`);
}

export function decodeSet(v: unknown): OvsdbAtom[] {
  if (isTagged(v, 'set')) {
    if (!Array.isArray(v[1])) throw new OvsdbJsonError(`bad set ${show(v)}`);
    return v[1].map(decodeAtom);
  }
  return [decodeAtom(v)];
}

/** An optional (0..1) column: undefined when empty. */
export function decodeOptional(v: unknown): OvsdbAtom | undefined {
  const set = decodeSet(v);
  if (set.length > 1) throw new OvsdbJsonError(`expected at most one value, got ${show(v)}`);
  return set[0];
}

export function decodeString(v: unknown): string {
  const a = decodeAtom(v);
  if (typeof a !== 'string') throw new OvsdbJsonError(`expected a string, got ${show(v)}`);
  return a;
}

export function decodeOptionalString(v: unknown): string | undefined {
  const a = decodeOptional(v);
  if (a !== undefined && typeof a !== 'string') throw new OvsdbJsonError(`expected a string, got ${show(v)}`);
  return a;
}

export function decodeOptionalInteger(v: unknown): number | undefined {
  const a = decodeOptional(v);
  if (a !== undefined && (typeof a !== 'number' || !Number.isInteger(a))) {
    throw new OvsdbJsonError(`expected an integer, got ${show(v)}`);
  }
  return a;
}

export function decodeStringSet(v: unknown): string[] {
  return decodeSet(v).map((a) => {
    if (typeof a !== 'string') throw new OvsdbJsonError(`expected strings, got ${show(v)}`);
    return a;
  });
}

export function decodeUuid(v: unknown): string {
  const a = decodeAtom(v);
  if (typeof a !== 'object') throw new OvsdbJsonError(`expected a uuid, got ${show(v)}`);
  return a.uuid;
}

/** A string->string map column (external_ids, options, other_config, bfd, bfd_status...). */
export function decodeStringMap(v: unknown): Record<string, string> {
  if (!isTagged(v, 'map') || !Array.isArray(v[1])) throw new OvsdbJsonError(`expected a map, got ${show(v)}`);
  const out: Record<string, string> = {};
  for (const pair of v[1] as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new OvsdbJsonError(`bad map pair ${show(pair)}`);
    out[decodeString(pair[0])] = decodeString(pair[1]);
  }
  return out;
}
