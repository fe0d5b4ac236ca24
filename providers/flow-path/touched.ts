/**
 * The switches a FlowPath has ever touched, kept in its state, so nothing it installed is
 * left behind by a later version: a failed update followed by a reverted program used to leave
 * flows on switches neither version names, and delete visited only the recorded plan's
 * switches. Every version of a path has the same cookie, so a sweep of a touched switch takes
 * back by cookie whatever this path owns there and its plan does not name (plan.ts gcOps).
 *
 * Credentials travel with each switch (its inline key and passphrase as secret lists), the
 * same way as the hops' own.
 */
import type { ConnectionWithoutKey } from '../common/connection-input';
import type { BundleOps } from '../ovs';
import { switchKey } from './plan';
import type { FlowPathInputs } from './types';

export interface TouchedSwitch {
  readonly node: string;
  readonly bridge: string;
  readonly connection: ConnectionWithoutKey;
}

export interface Touched {
  readonly switches: TouchedSwitch[];
  readonly privateKeys: (string | null)[];
  readonly passphrases: (string | null)[];
}

/** What the state stores (outputs of FlowPath). */
export interface TouchedProps {
  touched?: TouchedSwitch[];
  touchedPrivateKeys?: (string | null)[];
  touchedPassphrases?: (string | null)[];
}

/** The switches of one version (hops and backup hops), with their credentials. */
export function switchesOf(p: FlowPathInputs): Touched {
  const out: Touched = { switches: [], privateKeys: [], passphrases: [] };
  const add = (s: TouchedSwitch, key: string | null | undefined, pass: string | null | undefined) => {
    out.switches.push({ node: s.node, bridge: s.bridge, connection: s.connection });
    out.privateKeys.push(key ?? null);
    out.passphrases.push(pass ?? null);
  };
  p.hops.forEach((h, i) => add(h, p.privateKeys?.[i], p.passphrases?.[i]));
  (p.backupHops ?? []).forEach((b, j) => add(b, p.backupPrivateKeys?.[j], p.backupPassphrases?.[j]));
  return merge(out);
}

/** The recorded touched switches, or (state from before they were kept) the version's own. */
export function touchedOf(p: FlowPathInputs & TouchedProps): Touched {
  if (!p.touched) return switchesOf(p);
  return { switches: p.touched, privateKeys: p.touchedPrivateKeys ?? p.touched.map(() => null), passphrases: p.touchedPassphrases ?? p.touched.map(() => null) };
}

/** Union by switch (host, netns, bridge); for a switch in several, the last credentials win. */
export function merge(...all: Touched[]): Touched {
  const at = new Map<string, number>();
  const out: Touched = { switches: [], privateKeys: [], passphrases: [] };
  for (const t of all) {
    t.switches.forEach((s, i) => {
      const k = switchKey(s);
      const j = at.get(k);
      if (j === undefined) {
        at.set(k, out.switches.length);
        out.switches.push(s);
        out.privateKeys.push(t.privateKeys[i] ?? null);
        out.passphrases.push(t.passphrases[i] ?? null);
      } else {
        out.switches[j] = s;
        out.privateKeys[j] = t.privateKeys[i] ?? null;
        out.passphrases[j] = t.passphrases[i] ?? null;
      }
    });
  }
  return out;
}

export function toProps(t: Touched): Required<TouchedProps> {
  return { touched: t.switches, touchedPrivateKeys: t.privateKeys, touchedPassphrases: t.passphrases };
}

/** A refresh line for what this path owns on a switch and its plan does not name; none if clean. */
export function leftoverLine(node: string, ops: BundleOps): string | undefined {
  const parts: string[] = [];
  const n = (xs: readonly unknown[] | undefined) => xs?.length ?? 0;
  if (n(ops.delStrict)) parts.push(`${n(ops.delStrict)} ownership marker(s)`);
  if (n(ops.removeBuckets)) parts.push(`${n(ops.removeBuckets)} group bucket(s)`);
  if (n(ops.delGroups)) parts.push(`${n(ops.delGroups)} group(s)`);
  if (n(ops.delCookies)) parts.push(`${n(ops.delCookies)} shared flow(s)`);
  return parts.length ? `${node}: leftover of this path (not in its plan): ${parts.join(', ')}` : undefined;
}
