/**
 * `ovs-appctl` commands VPM needs: seeding OVS's own tunnel neighbour cache and reading BFD
 * state. `ovs-appctl` finds ovs-vswitchd through `$OVS_RUNDIR/ovs-vswitchd.pid`, so the daemon
 * must run with the default pidfile name (`--pidfile` without a path) and without --unixctl.
 *
 * OVS 3.1 facts: `tnl/neigh/set` answers "OK" and does not check that the bridge exists (the
 * BridgeName is validated here instead); a bad MAC exits 2. The tunnel neighbour cache has
 * `set`, `show`, `flush` (every entry) and `aging`, and no per-entry delete
 * (lib/tnl-neigh-cache.c): a "static" entry is an ordinary one that ages out after 900 s
 * without a lookup, and a missing one is learned again by ARP while the first packets are
 * dropped (LAB-NOTES: ~7 ms). `tnlNeighRelease` removes entries by flushing and setting the
 * others again in one remote process. `bfd/show <iface>` of an
 * interface without BFD exits 2 ("no such bfd object"), so `bfdShow` always reads the full
 * `bfd/show` and filters, which needs no error-text matching.
 */
import { RemoteCommandError, CommandRunner, type BatchResult, type BatchStep } from '../exec';
import { BridgeName, Ipv4, Mac, parseBridgeName, parseInterfaceName, parseIpv4, parseMac, show } from './values';
import { tunnelRemoteIps } from './vsctl';

export const APPCTL_TIMEOUT_MS = 15_000;

export interface TunnelNeighbour {
  /** IPv4 or IPv6 text as OVS prints it. */
  readonly ip: string;
  readonly mac: Mac;
  /** As recorded; OVS does not check it is a bridge. */
  readonly bridge: string;
  /** Expired, not yet swept (newer OVS prints "STALE" after such a row). */
  readonly stale?: true;
}

export type BfdState = 'admin_down' | 'down' | 'init' | 'up';

export interface BfdStatus {
  readonly interface: string;
  readonly forwarding: boolean;
  readonly localState: BfdState;
  readonly remoteState: BfdState;
  readonly localDiagnostic: string;
  readonly remoteDiagnostic: string;
  /** Every "Key: value" line, for display. */
  readonly raw: Readonly<Record<string, string>>;
}

export class AppctlParseError extends Error {
  constructor(reason: string) {
    super(`cannot parse ovs-appctl output: ${reason}`);
    this.name = 'AppctlParseError';
  }
}

async function runParsed<T>(runner: CommandRunner, argv: readonly string[], parse: (stdout: string) => T): Promise<T> {
  const result = await runner.run(argv, { timeoutMs: APPCTL_TIMEOUT_MS });
  try {
    return parse(result.stdout);
  } catch (e) {
    if (e instanceof AppctlParseError) {
      throw new RemoteCommandError(runner.host, argv, result.exitCode, result.stderr, result.stdout, e.message);
    }
    throw e;
  }
}

/** `ovs-appctl tnl/neigh/set <bridge> <ip> <mac>` as a batch step. */
export function tnlNeighSetStep(bridge: BridgeName, ip: Ipv4, mac: Mac): BatchStep {
  return { argv: ['ovs-appctl', 'tnl/neigh/set', parseBridgeName(bridge, 'bridge'), parseIpv4(ip, 'ip'), parseMac(mac, 'mac')] };
}

/** `ovs-appctl tnl/neigh/set <bridge> <ip> <mac>`: a static tunnel neighbour entry. */
export async function tnlNeighSet(runner: CommandRunner, bridge: BridgeName, ip: Ipv4, mac: Mac, opts: { tag?: string } = {}): Promise<void> {
  await runner.run(tnlNeighSetStep(bridge, ip, mac).argv, { timeoutMs: APPCTL_TIMEOUT_MS, ...(opts.tag ? { trace: { tag: opts.tag } } : {}) });
}

/** `ovs-appctl tnl/neigh/flush` as a batch step (behind vsctl's noTunnelLeftStep guard). */
export const TNL_NEIGH_FLUSH: readonly string[] = ['ovs-appctl', 'tnl/neigh/flush'];
export function tnlNeighFlushStep(): BatchStep {
  return { argv: [...TNL_NEIGH_FLUSH] };
}

/** `ovs-appctl tnl/neigh/show` as a batch step, for `releaseFromReads`. */
export const TNL_NEIGH_SHOW: readonly string[] = ['ovs-appctl', 'tnl/neigh/show'];
export function tnlNeighShowStep(): BatchStep {
  return { argv: [...TNL_NEIGH_SHOW] };
}

/** Parses `tnl/neigh/show`: a header, a "=====" rule, then `IP MAC Bridge` rows. */
export function parseTnlNeighShow(text: string): TunnelNeighbour[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const out: TunnelNeighbour[] = [];
  for (const line of lines) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === 'IP' || /^=+$/.test(cols[0])) continue;
    const stale = cols.length === 4 && cols[3] === 'STALE';
    if (cols.length !== 3 && !stale) throw new AppctlParseError(`unexpected tnl/neigh/show line ${show(line)}`);
    let mac: Mac;
    try {
      mac = parseMac(cols[1]);
    } catch {
      throw new AppctlParseError(`bad MAC in tnl/neigh/show line ${show(line)}`);
    }
    out.push({ ip: cols[0], mac, bridge: cols[2], ...(stale ? { stale: true as const } : {}) });
  }
  return out;
}

export async function tnlNeighShow(runner: CommandRunner): Promise<TunnelNeighbour[]> {
  return runParsed(runner, ['ovs-appctl', 'tnl/neigh/show'], parseTnlNeighShow);
}

/** A tunnel neighbour entry VPM set: the underlay bridge it was set on and the neighbour's IP. */
export interface NeighbourKey {
  readonly bridge: BridgeName;
  readonly ip: Ipv4;
}

export interface NeighbourRelease {
  /** Entries the cache held for the released keys; gone now. */
  readonly removed: readonly TunnelNeighbour[];
  /** Released keys kept because a tunnel interface on the host still has that remote_ip. */
  readonly stillUsed: readonly NeighbourKey[];
  /**
   * Entries that should have gone but were left, because removing one means flushing the
   * whole cache while other tunnels on the host still use entries in it (or send to addresses
   * chosen per flow, `remote_ip=flow`). Unused, they age out; the last tunnel flushes them.
   */
  readonly left: readonly TunnelNeighbour[];
}

/** ovs-appctl's words when no ovs-vswitchd answers (no pidfile, or its socket refuses). */
const VSWITCHD_GONE = /ovs-appctl: cannot (read pidfile|connect to)/;

/**
 * Takes back the tunnel neighbour entries `keys` that their owner set (call it with the
 * host's lock held, after the owner's own ports are gone). A key stays when any Interface on
 * the host still has `options:remote_ip` = its IP: a GRE port (any owner, any bridge) that
 * sends there needs it, so two tunnels or paths sharing a neighbour never take it from each
 * other. OVS 3.1 has no per-entry delete, only a flush of the whole cache, and a flush makes
 * every tunnel on the host re-resolve its neighbour (packets dropped until the ARP reply). So
 * the cache is flushed only when no entry left in it is used by a tunnel (remote_ip) on the
 * host — in practice when the host's last tunnel goes, as in `destroy`. Otherwise the entries
 * are reported as `left`: unused, OVS drops them after its idle time (15 min), and the host's
 * last tunnel takes them with it.
 */
export async function tnlNeighRelease(runner: CommandRunner, keys: readonly NeighbourKey[]): Promise<NeighbourRelease> {
  const wanted = keys.map((k) => ({ bridge: parseBridgeName(k.bridge, 'bridge'), ip: parseIpv4(k.ip, 'ip') }));
  if (wanted.length === 0) return { removed: [], stillUsed: [], left: [] };
  const remotes = await tunnelRemoteIps(runner);
  // Nothing to drop: no need to read the cache.
  if (wanted.every((k) => remotes.has(k.ip))) return releaseFromReads(runner, wanted, remotes, { stdout: '', stderr: '', exitCode: 0 });
  let show: BatchResult;
  try {
    show = await runner.run(TNL_NEIGH_SHOW, { timeoutMs: APPCTL_TIMEOUT_MS });
  } catch (e) {
    if (e instanceof RemoteCommandError && VSWITCHD_GONE.test(e.stderr)) show = { stdout: e.stdout, stderr: e.stderr, exitCode: e.exitCode ?? 1 };
    else throw e;
  }
  return releaseFromReads(runner, wanted, remotes, show);
}

/**
 * The rest of tnlNeighRelease, once the host's tunnel remotes (`tunnelRemoteIps`) and its
 * `tnl/neigh/show` answer were read (they may come from one batch that also removed the
 * owner's ports): decides, and flushes the cache (one more command) only when it must.
 * A failed `show` because no ovs-vswitchd answers means the cache died with it: nothing to do.
 * Call it with the host's lock held from before the reads (see tnlNeighRelease).
 */
export async function releaseFromReads(
  runner: CommandRunner,
  keys: readonly NeighbourKey[],
  remotes: ReadonlySet<string>,
  show: BatchResult,
  opts: { tag?: string; /** The cache was flushed after `show` already (no tunnel was left on the host). */ flushed?: boolean } = {},
): Promise<NeighbourRelease> {
  const wanted = keys.map((k) => ({ bridge: parseBridgeName(k.bridge, 'bridge'), ip: parseIpv4(k.ip, 'ip') }));
  if (wanted.length === 0) return { removed: [], stillUsed: [], left: [] };
  const stillUsed = wanted.filter((k) => remotes.has(k.ip));
  const drop = wanted.filter((k) => !remotes.has(k.ip));
  if (drop.length === 0) return { removed: [], stillUsed, left: [] };
  if (show.exitCode !== 0) {
    // No ovs-vswitchd (stopped, killed): its cache died with it, a new one starts empty.
    if (VSWITCHD_GONE.test(show.stderr)) return { removed: [], stillUsed, left: [] };
    throw new RemoteCommandError(runner.host, TNL_NEIGH_SHOW, show.exitCode, show.stderr, show.stdout);
  }
  let cache: TunnelNeighbour[];
  try {
    cache = parseTnlNeighShow(show.stdout);
  } catch (e) {
    if (e instanceof AppctlParseError) throw new RemoteCommandError(runner.host, TNL_NEIGH_SHOW, show.exitCode, show.stderr, show.stdout, e.message);
    throw e;
  }
  const removed = cache.filter((e) => drop.some((k) => k.ip === e.ip && k.bridge === e.bridge));
  if (removed.length === 0) return { removed: [], stillUsed, left: [] };
  // A flush would interrupt every tunnel still resolving through the cache: only when none is
  // (the removed entries' IPs are no tunnel's remote, so they never count here).
  const inUse = remotes.has('flow') || cache.some((e) => !e.stale && remotes.has(e.ip));
  if (inUse) return { removed: [], stillUsed, left: removed };
  if (!opts.flushed) await runner.run(TNL_NEIGH_FLUSH, { timeoutMs: APPCTL_TIMEOUT_MS, ...(opts.tag ? { trace: { tag: opts.tag } } : {}) });
  return { removed, stillUsed, left: [] };
}

const BFD_STATES: ReadonlySet<string> = new Set(['admin_down', 'down', 'init', 'up']);

function bfdState(value: string | undefined, what: string): BfdState {
  if (value === undefined || !BFD_STATES.has(value)) throw new AppctlParseError(`${what} ${show(value)} is not a BFD state`);
  return value as BfdState;
}

/**
 * Parses the full `bfd/show` output: per interface a `---- <name> ----` header followed by
 * `Key: value` lines ("Forwarding: true", "Local Session State: up", ...).
 */
export function parseBfdShow(text: string): BfdStatus[] {
  const blocks: Array<{ name: string; raw: Record<string, string> }> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const header = /^---- (.+) ----$/.exec(line.trim());
    if (header) {
      blocks.push({ name: header[1], raw: {} });
      continue;
    }
    const kv = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!kv || blocks.length === 0) throw new AppctlParseError(`unexpected bfd/show line ${show(line)}`);
    blocks[blocks.length - 1].raw[kv[1].trim()] = kv[2].trim();
  }
  return blocks.map(({ name, raw }) => {
    const forwarding = raw['Forwarding'];
    if (forwarding !== 'true' && forwarding !== 'false') {
      throw new AppctlParseError(`interface ${name}: Forwarding ${show(forwarding)} is not true/false`);
    }
    return {
      interface: name,
      forwarding: forwarding === 'true',
      localState: bfdState(raw['Local Session State'], `interface ${name}: local state`),
      remoteState: bfdState(raw['Remote Session State'], `interface ${name}: remote state`),
      localDiagnostic: raw['Local Diagnostic'] ?? '',
      remoteDiagnostic: raw['Remote Diagnostic'] ?? '',
      raw,
    };
  });
}

/** BFD state of every interface with BFD enabled, or of one (empty list when it has none). */
export async function bfdShow(runner: CommandRunner, iface?: string): Promise<BfdStatus[]> {
  const name = iface === undefined ? undefined : parseInterfaceName(iface, 'interface');
  const all = await runParsed(runner, ['ovs-appctl', 'bfd/show'], parseBfdShow);
  return name === undefined ? all : all.filter((s) => s.interface === name);
}
