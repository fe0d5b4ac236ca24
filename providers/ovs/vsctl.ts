/**
 * `ovs-vsctl` as a typed transaction builder plus JSON readers.
 *
 * One resource step = ONE `ovs-vsctl --timeout=N -- cmd1 -- cmd2 ...` (one OVSDB transaction:
 * all or nothing). Each argument is its own argv element; no shell ever sees them.
 *
 * Value syntax (checked against ovs-vsctl 3.1): every string key and value of a map column is
 * written as a double-quoted OVSDB string, with `\` and `"` backslash-escaped, so values may
 * hold spaces, commas, `=`, `:` and quotes (`external_ids:"vpm-owner"="a b,c=d"` stores
 * `a b,c=d`). Control characters are refused. Keys match ^[A-Za-z0-9_][A-Za-z0-9_.:-]*$.
 * external_ids / other_config are set key by key (`col:"k"="v"`, other keys of other owners
 * stay); an interface's `options` and `bfd` are written as whole maps (`options={"k"="v"}`,
 * `bfd={}`) so an update with `--may-exist` converges instead of leaving stale keys.
 *
 * Reads use `--format=json` with `--if-exists list <Table> <name>`: a missing row is an empty
 * `data` list with exit 0 (no stderr matching), any non-zero exit is a real error.
 *
 * Batches (exec/batch.ts): every transaction and read also exists as a BatchStep, so that a
 * resource step reads, checks and writes a host in ONE round trip. The checks are guards whose
 * stdout is exact (checked against ovs-vsctl 3.1): with `--bare`, `--columns=name find` prints
 * `<name>\n` per matching row or nothing, consecutive table outputs are separated by one
 * newline, and `find T name=N 'external_ids{>=}{"k"="v"}'` matches only a row whose map holds
 * exactly that pair (`external_ids:k!=v` does NOT match a row without the key, so it cannot
 * test ownership). `absentOrOwnedStep` prints "" (absent) or `N\n\nN` (ours), anything else
 * (`N`: a row without our mark) stops the batch. `noForeignRowsStep` checks several rows in one
 * run: `find T name=N 'external_ids{not-in}{"k"="v"}'` matches a row whose map lacks that pair
 * (no mark, or another owner's), so the step prints only newlines when every row is absent or
 * ours, and a name when one is not.
 */
import { RemoteCommandError, ValidationError, CommandRunner, type BatchResult, type BatchStep } from '../exec';
import {
  OvsdbJsonError,
  OvsdbTable,
  decodeOptionalInteger,
  decodeOptionalString,
  decodeSet,
  decodeString,
  decodeStringMap,
  decodeStringSet,
  decodeUuid,
  parseOvsdbTables,
} from './ovsdb-json';
import {
  BridgeName,
  InterfaceName,
  Ipv4,
  Mac,
  OfPortNumber,
  parseBridgeName,
  parseInterfaceName,
  parseIpv4,
  parseMac,
  parseOfPortNumber,
  show,
} from './values';

export const VSCTL_DEFAULT_TIMEOUT_SEC = 10;

export type VsctlTable = 'Open_vSwitch' | 'Bridge' | 'Port' | 'Interface';
export type MapColumn = 'external_ids' | 'other_config';
export type OfProtocol = 'OpenFlow10' | 'OpenFlow11' | 'OpenFlow12' | 'OpenFlow13' | 'OpenFlow14' | 'OpenFlow15';
/** What VPM's bridges speak: bundles need 1.4, bucket ids 1.5. */
export const VPM_PROTOCOLS: readonly OfProtocol[] = ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'];
const ALL_PROTOCOLS: ReadonlySet<string> = new Set(['OpenFlow10', 'OpenFlow11', 'OpenFlow12', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']);

export interface BridgeOptions {
  readonly datapathType?: 'netdev' | 'system';
  readonly failMode?: 'secure' | 'standalone';
  readonly protocols?: readonly OfProtocol[];
  readonly externalIds?: Readonly<Record<string, string>>;
  readonly otherConfig?: Readonly<Record<string, string>>;
  /** `--may-exist add-br`: no error when the bridge exists (the settings are still applied). */
  readonly mayExist?: boolean;
}

export interface BfdOptions {
  /** Default true. */
  readonly enable?: boolean;
  readonly minTxMs?: number;
  readonly minRxMs?: number;
}

export type PortSpec =
  | { readonly type: 'patch'; readonly peer: InterfaceName }
  | { readonly type: 'gre'; readonly remoteIp: Ipv4; readonly key?: number; readonly bfd?: BfdOptions }
  | { readonly type: 'internal' }
  /** An existing network device (e.g. a VM's pre-created tap), opened by OVS as it is. */
  | { readonly type: 'system' };

export interface PortOptions {
  readonly ofportRequest?: OfPortNumber;
  /** Written to the Port row. */
  readonly externalIds?: Readonly<Record<string, string>>;
  /** `--may-exist add-port`: no error when the port exists on that bridge (its settings are still applied). */
  readonly mayExist?: boolean;
}

const KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_VALUE = 4096;

function invalid(property: string, reason: string): never {
  throw new ValidationError([{ property, reason }]);
}

/** A double-quoted OVSDB string (see header). */
export function quoteOvsdbString(value: unknown, property = 'value'): string {
  if (typeof value !== 'string') invalid(property, `must be a string, got ${show(value)}`);
  if (CONTROL.test(value) || value.length > MAX_VALUE) {
    invalid(property, `value ${show(value)} is invalid: use at most ${MAX_VALUE} characters without control characters`);
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function checkKey(key: string, property: string): string {
  if (!KEY_PATTERN.test(key) || key.length > 256) {
    invalid(property, `key ${show(key)} is invalid: use at most 256 characters matching ${KEY_PATTERN.source}`);
  }
  return key;
}

function mapEntries(map: Readonly<Record<string, string>> | undefined, property: string): Array<[string, string]> {
  if (map === undefined) return [];
  if (typeof map !== 'object' || map === null || Array.isArray(map)) invalid(property, `must be a map of strings, got ${show(map)}`);
  return Object.keys(map)
    .sort()
    .map((k) => [quoteOvsdbString(checkKey(k, `${property}.${k}`), `${property}.${k}`), quoteOvsdbString(map[k], `${property}.${k}`)]);
}

/** `col:"k"="v"` arguments, one per key, sorted by key. */
function keyArgs(column: string, map: Readonly<Record<string, string>> | undefined, property: string): string[] {
  return mapEntries(map, property).map(([k, v]) => `${column}:${k}=${v}`);
}

/** `col={"k"="v",...}` (whole map). */
function mapArg(column: string, map: Readonly<Record<string, string>>, property: string): string {
  return `${column}={${mapEntries(map, property).map(([k, v]) => `${k}=${v}`).join(',')}}`;
}

function recordArg(table: VsctlTable, record: string, property: string): string {
  switch (table) {
    case 'Open_vSwitch':
      if (record !== '.') invalid(property, `the Open_vSwitch table has one record, "."; got ${show(record)}`);
      return record;
    case 'Bridge':
      return parseBridgeName(record, property);
    case 'Port':
    case 'Interface':
      return parseInterfaceName(record, property);
    default:
      return invalid('table', `table ${show(table)} is not supported: use Open_vSwitch, Bridge, Port or Interface`);
  }
}

function positiveMs(value: unknown, property: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 3_600_000) {
    invalid(property, `${show(value)} is invalid: use an integer number of milliseconds 1..3600000`);
  }
  return value;
}

/** Builds ONE ovs-vsctl transaction; every method validates its input at once. */
export class VsctlTxn {
  private readonly cmds: string[][] = [];

  /** The commands so far (each without the separating "--"). */
  commands(): ReadonlyArray<readonly string[]> {
    return this.cmds.map((c) => [...c]);
  }

  get isEmpty(): boolean {
    return this.cmds.length === 0;
  }

  addBridge(name: BridgeName, opts: BridgeOptions = {}): this {
    const br = parseBridgeName(name, 'bridge');
    const settings: string[] = [];
    if (opts.datapathType !== undefined) {
      if (opts.datapathType !== 'netdev' && opts.datapathType !== 'system') {
        invalid('datapathType', `datapath type ${show(opts.datapathType)} is invalid: use 'netdev' or 'system'`);
      }
      settings.push(`datapath_type=${opts.datapathType}`);
    }
    if (opts.failMode !== undefined) {
      if (opts.failMode !== 'secure' && opts.failMode !== 'standalone') {
        invalid('failMode', `fail mode ${show(opts.failMode)} is invalid: use 'secure' or 'standalone'`);
      }
      settings.push(`fail_mode=${opts.failMode}`);
    }
    if (opts.protocols !== undefined) {
      if (!Array.isArray(opts.protocols) || opts.protocols.length === 0 || !opts.protocols.every((p) => ALL_PROTOCOLS.has(p))) {
        invalid('protocols', `protocols ${show(opts.protocols)} are invalid: use a non-empty list of ${[...ALL_PROTOCOLS].join(', ')}`);
      }
      settings.push(`protocols=${[...new Set(opts.protocols)].join(',')}`);
    }
    settings.push(...keyArgs('external_ids', opts.externalIds, 'externalIds'));
    settings.push(...keyArgs('other_config', opts.otherConfig, 'otherConfig'));
    this.cmds.push([...(opts.mayExist ? ['--may-exist'] : []), 'add-br', br]);
    if (settings.length) this.cmds.push(['set', 'Bridge', br, ...settings]);
    return this;
  }

  addPort(bridge: BridgeName, port: InterfaceName, spec: PortSpec, opts: PortOptions = {}): this {
    const br = parseBridgeName(bridge, 'bridge');
    const p = parseInterfaceName(port, 'port');
    const iface: string[] = [];
    switch (spec?.type) {
      case 'patch':
        iface.push('type=patch', mapArg('options', { peer: parseInterfaceName(spec.peer, 'spec.peer') }, 'spec'));
        break;
      case 'gre': {
        const options: Record<string, string> = { remote_ip: parseIpv4(spec.remoteIp, 'spec.remoteIp') };
        if (spec.key !== undefined) {
          if (!Number.isInteger(spec.key) || spec.key < 0 || spec.key > 0xffffffff) {
            invalid('spec.key', `GRE key ${show(spec.key)} is invalid: use an integer 0..4294967295`);
          }
          options.key = String(spec.key);
        }
        const bfd: Record<string, string> = {};
        if (spec.bfd !== undefined) {
          bfd.enable = spec.bfd.enable === false ? 'false' : 'true';
          if (spec.bfd.minTxMs !== undefined) bfd.min_tx = String(positiveMs(spec.bfd.minTxMs, 'spec.bfd.minTxMs'));
          if (spec.bfd.minRxMs !== undefined) bfd.min_rx = String(positiveMs(spec.bfd.minRxMs, 'spec.bfd.minRxMs'));
        }
        iface.push('type=gre', mapArg('options', options, 'spec'), mapArg('bfd', bfd, 'spec.bfd'));
        break;
      }
      case 'internal':
        iface.push('type=internal');
        break;
      case 'system':
        iface.push('type=""');
        break;
      default:
        invalid('spec.type', `port type ${show((spec as { type?: unknown })?.type)} is invalid: use 'patch', 'gre', 'internal' or 'system'`);
    }
    if (opts.ofportRequest !== undefined) iface.push(`ofport_request=${parseOfPortNumber(opts.ofportRequest, 'ofportRequest')}`);
    const portIds = keyArgs('external_ids', opts.externalIds, 'externalIds');
    this.cmds.push([...(opts.mayExist ? ['--may-exist'] : []), 'add-port', br, p]);
    this.cmds.push(['set', 'Interface', p, ...iface]);
    if (portIds.length) this.cmds.push(['set', 'Port', p, ...portIds]);
    return this;
  }

  /** `[--if-exists] del-port [bridge] port`; with a bridge, fails if the port is on another one. */
  delPort(port: InterfaceName, opts: { bridge?: BridgeName; ifExists?: boolean } = {}): this {
    const p = parseInterfaceName(port, 'port');
    const br = opts.bridge === undefined ? [] : [parseBridgeName(opts.bridge, 'bridge')];
    this.cmds.push([...(opts.ifExists ? ['--if-exists'] : []), 'del-port', ...br, p]);
    return this;
  }

  delBridge(name: BridgeName, opts: { ifExists?: boolean } = {}): this {
    this.cmds.push([...(opts.ifExists ? ['--if-exists'] : []), 'del-br', parseBridgeName(name, 'bridge')]);
    return this;
  }

  /** Sets the given keys of a map column; other keys stay. */
  setMapKeys(table: VsctlTable, record: string, column: MapColumn, map: Readonly<Record<string, string>>): this {
    if (column !== 'external_ids' && column !== 'other_config') {
      invalid('column', `column ${show(column)} is not supported: use external_ids or other_config`);
    }
    const rec = recordArg(table, record, 'record');
    const args = keyArgs(column, map, column);
    if (args.length) this.cmds.push(['set', table, rec, ...args]);
    return this;
  }

  setExternalIds(table: VsctlTable, record: string, map: Readonly<Record<string, string>>): this {
    return this.setMapKeys(table, record, 'external_ids', map);
  }

  /** `[--if-exists] remove <Table> <record> external_ids "k1" "k2"`; absent keys are no error. */
  removeExternalIds(table: VsctlTable, record: string, keys: readonly string[], opts: { ifExists?: boolean } = {}): this {
    const rec = recordArg(table, record, 'record');
    const quoted = [...keys].sort().map((k) => quoteOvsdbString(checkKey(k, `keys.${k}`), `keys.${k}`));
    if (quoted.length) this.cmds.push([...(opts.ifExists ? ['--if-exists'] : []), 'remove', table, rec, 'external_ids', ...quoted]);
    return this;
  }

  /** ONE `ovs-vsctl --timeout=N -- cmd1 -- cmd2 ...` argv. */
  argv(opts: { timeoutSec?: number } = {}): string[] {
    const t = opts.timeoutSec ?? VSCTL_DEFAULT_TIMEOUT_SEC;
    if (!Number.isInteger(t) || t < 1 || t > 600) invalid('timeoutSec', `timeout ${show(t)} is invalid: use whole seconds 1..600`);
    if (this.cmds.length === 0) invalid('txn', 'the transaction is empty: add at least one command');
    return ['ovs-vsctl', `--timeout=${t}`, ...this.cmds.flatMap((c) => ['--', ...c])];
  }

  /** The transaction as one step of a batch (exec/batch.ts). */
  step(opts: { timeoutSec?: number } = {}): BatchStep {
    return { argv: this.argv(opts) };
  }

  /** Runs the transaction (runner timeout = vsctl timeout + 5 s). */
  async run(runner: CommandRunner, opts: { timeoutSec?: number } = {}): Promise<void> {
    const argv = this.argv(opts);
    await runner.run(argv, { timeoutMs: ((opts.timeoutSec ?? VSCTL_DEFAULT_TIMEOUT_SEC) + 5) * 1000 });
  }
}

// ---------------------------------------------------------------------------------------------
// Reads

export interface BridgeInfo {
  readonly uuid: string;
  readonly name: BridgeName;
  /** 16 hex digits; undefined until ovs-vswitchd has set the bridge up. */
  readonly datapathId?: string;
  /** "" means the default (system). */
  readonly datapathType: string;
  readonly failMode?: string;
  readonly protocols: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
  readonly otherConfig: Readonly<Record<string, string>>;
}

export interface InterfaceInfo {
  readonly uuid: string;
  readonly name: InterfaceName;
  /** "" for a system interface. */
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  /** undefined while unassigned; -1 when the interface could not be set up (see `error`). */
  readonly ofport?: number;
  readonly ofportRequest?: number;
  readonly externalIds: Readonly<Record<string, string>>;
  readonly bfd: Readonly<Record<string, string>>;
  readonly bfdStatus: Readonly<Record<string, string>>;
  readonly error?: string;
}

export interface PortInfo {
  readonly uuid: string;
  readonly name: InterfaceName;
  /** The bridge that holds the port (undefined if none does, which OVSDB allows briefly). */
  readonly bridge?: BridgeName;
  /** The Port row's external_ids (where VPM records ownership). */
  readonly externalIds: Readonly<Record<string, string>>;
  /** The same-named Interface (undefined for bonds/odd ports). */
  readonly interface?: InterfaceInfo;
  /** Shortcuts into `interface`. */
  readonly type?: string;
  readonly options: Readonly<Record<string, string>>;
  readonly ofport?: number;
}

const BRIDGE_COLUMNS = '_uuid,name,datapath_id,datapath_type,fail_mode,protocols,external_ids,other_config';
const INTERFACE_COLUMNS = '_uuid,name,type,options,ofport,ofport_request,external_ids,bfd,bfd_status,error';

/** The argv of one `ovs-vsctl --format=json` read of these list/find commands. */
function readArgv(commands: readonly (readonly string[])[]): string[] {
  return ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, '--format=json', ...commands.flatMap((c) => ['--', ...c])];
}

/** The tables of a JSON read; a malformed answer is a RemoteCommandError naming the command. */
function tablesOf(host: string, argv: readonly string[], result: BatchResult, expect: number): { tables: OvsdbTable[]; fail: (e: unknown) => never } {
  const fail = (e: unknown): never => {
    if (e instanceof OvsdbJsonError) {
      throw new RemoteCommandError(host, argv, result.exitCode, result.stderr, result.stdout, e.message);
    }
    throw e;
  };
  let tables: OvsdbTable[] = [];
  try {
    tables = parseOvsdbTables(result.stdout);
    if (tables.length !== expect) throw new OvsdbJsonError(`expected ${expect} table(s), got ${tables.length}`);
  } catch (e) {
    fail(e);
  }
  return { tables, fail };
}

async function readTables(runner: CommandRunner, commands: string[][], expect: number, opts: ReadOptions = {}): Promise<{ tables: OvsdbTable[]; fail: (e: unknown) => never }> {
  const argv = readArgv(commands);
  const result = await runner.run(argv, { timeoutMs: (VSCTL_DEFAULT_TIMEOUT_SEC + 5) * 1000, ...(opts.tag ? { trace: { tag: opts.tag } } : {}) });
  return tablesOf(runner.host, argv, result, expect);
}

/** For the command trace: the kind of resource a read works for. */
export interface ReadOptions {
  readonly tag?: string;
}

function oneRow(table: OvsdbTable): Readonly<Record<string, unknown>> | undefined {
  if (table.rows.length > 1) throw new OvsdbJsonError(`expected at most one row, got ${table.rows.length}`);
  return table.rows[0];
}

function decodeInterface(row: Readonly<Record<string, unknown>>): InterfaceInfo {
  const ofport = decodeOptionalInteger(row.ofport);
  const ofportRequest = decodeOptionalInteger(row.ofport_request);
  const error = decodeOptionalString(row.error);
  return {
    uuid: decodeUuid(row._uuid),
    name: decodeString(row.name) as InterfaceName,
    type: decodeString(row.type),
    options: decodeStringMap(row.options),
    ...(ofport !== undefined ? { ofport } : {}),
    ...(ofportRequest !== undefined ? { ofportRequest } : {}),
    externalIds: decodeStringMap(row.external_ids),
    bfd: decodeStringMap(row.bfd),
    bfdStatus: decodeStringMap(row.bfd_status),
    ...(error !== undefined ? { error } : {}),
  };
}

/** `ovs-vsctl list-br`. */
export async function listBridges(runner: CommandRunner): Promise<BridgeName[]> {
  const argv = ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, 'list-br'];
  const result = await runner.run(argv, { timeoutMs: (VSCTL_DEFAULT_TIMEOUT_SEC + 5) * 1000 });
  return result.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l as BridgeName);
}

function decodeBridge(row: Readonly<Record<string, unknown>>): BridgeInfo {
  const datapathId = decodeOptionalString(row.datapath_id);
  const failMode = decodeOptionalString(row.fail_mode);
  return {
    uuid: decodeUuid(row._uuid),
    name: decodeString(row.name) as BridgeName,
    ...(datapathId !== undefined ? { datapathId } : {}),
    datapathType: decodeString(row.datapath_type),
    ...(failMode !== undefined ? { failMode } : {}),
    protocols: decodeStringSet(row.protocols).sort(),
    externalIds: decodeStringMap(row.external_ids),
    otherConfig: decodeStringMap(row.other_config),
  };
}

/** The Bridge row, or undefined when there is no such bridge. */
export async function bridgeInfo(runner: CommandRunner, name: BridgeName, opts: ReadOptions = {}): Promise<BridgeInfo | undefined> {
  const br = parseBridgeName(name, 'bridge');
  const { tables, fail } = await readTables(runner, [bridgeListCommand(br)], 1, opts);
  try {
    const row = oneRow(tables[0]);
    return row ? decodeBridge(row) : undefined;
  } catch (e) {
    return fail(e);
  }
}

const bridgeListCommand = (br: BridgeName): string[] => ['--if-exists', `--columns=${BRIDGE_COLUMNS}`, 'list', 'Bridge', br];
const portListCommands = (n: InterfaceName): string[][] => [
  ['--if-exists', '--columns=_uuid,name,external_ids', 'list', 'Port', n],
  ['--if-exists', `--columns=${INTERFACE_COLUMNS}`, 'list', 'Interface', n],
];
const HOLDERS_COMMAND = ['--columns=name,ports', 'list', 'Bridge'];

/** A Port row and its Interface, with the bridge that holds it (from `list Bridge name,ports`). */
function decodePort(portTable: OvsdbTable, ifaceTable: OvsdbTable, holders: OvsdbTable): PortInfo | undefined {
  const row = oneRow(portTable);
  if (!row) return undefined;
  const uuid = decodeUuid(row._uuid);
  const ifRow = oneRow(ifaceTable);
  const iface = ifRow ? decodeInterface(ifRow) : undefined;
  const holder = holders.rows.find((b) => decodeSet(b.ports).some((a) => typeof a === 'object' && a.uuid === uuid));
  return {
    uuid,
    name: decodeString(row.name) as InterfaceName,
    ...(holder ? { bridge: decodeString(holder.name) as BridgeName } : {}),
    externalIds: decodeStringMap(row.external_ids),
    ...(iface ? { interface: iface, type: iface.type } : {}),
    options: iface?.options ?? {},
    ...(iface?.ofport !== undefined ? { ofport: iface.ofport } : {}),
  };
}

/** What one `hostReadStep` asks for. */
export interface HostReadRequest {
  readonly bridges: readonly BridgeName[];
  readonly ports: readonly InterfaceName[];
}

/** What a `hostReadStep` found: each asked-for row, or undefined when it does not exist. */
export interface HostRead {
  readonly bridges: ReadonlyMap<string, BridgeInfo | undefined>;
  readonly ports: ReadonlyMap<string, PortInfo | undefined>;
}

/**
 * ONE `ovs-vsctl --format=json` read of several bridges and ports (each port with its
 * Interface and holding bridge), as a batch step; `parseHostRead` decodes its answer.
 */
export function hostReadStep(req: HostReadRequest): BatchStep {
  const bridges = req.bridges.map((b) => parseBridgeName(b, 'bridge'));
  const ports = req.ports.map((p) => parseInterfaceName(p, 'port'));
  return { argv: readArgv([...bridges.map(bridgeListCommand), ...ports.flatMap(portListCommands), HOLDERS_COMMAND]) };
}

export function parseHostRead(host: string, req: HostReadRequest, result: BatchResult): HostRead {
  const argv = hostReadStep(req).argv;
  const { tables, fail } = tablesOf(host, argv, result, req.bridges.length + 2 * req.ports.length + 1);
  try {
    const holders = tables[tables.length - 1];
    const bridges = new Map<string, BridgeInfo | undefined>();
    req.bridges.forEach((b, i) => {
      const row = oneRow(tables[i]);
      bridges.set(b, row ? decodeBridge(row) : undefined);
    });
    const ports = new Map<string, PortInfo | undefined>();
    req.ports.forEach((p, i) => {
      const at = req.bridges.length + 2 * i;
      ports.set(p, decodePort(tables[at], tables[at + 1], holders));
    });
    return { bridges, ports };
  } catch (e) {
    return fail(e);
  }
}

/** `ovs-vsctl br-exists <name>` as a step: exit 0 when the bridge exists, 2 when not (both fine). */
export function bridgeExistsStep(name: BridgeName): BatchStep {
  return { argv: ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, 'br-exists', parseBridgeName(name, 'bridge')], okExitCodes: [0, 2] };
}

/** Exit code of `ovs-vsctl br-exists` for a missing bridge. */
export const BR_MISSING_EXIT = 2;

/**
 * A guard: the physical bridge exists (else exit 2), `uplink` is a port of it (port-to-br
 * prints the bridge; a missing port exits 1) and works (its Interface has ofport > 0, else the
 * find prints nothing). Prints exactly `<bridge>\n<uplink>` when all hold.
 */
export function physicalGuardStep(bridge: BridgeName, uplink: InterfaceName): BatchStep {
  const br = parseBridgeName(bridge, 'physicalBridge');
  const nic = parseInterfaceName(uplink, 'uplink');
  return {
    argv: ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, '--bare', '--', 'br-exists', br, '--', 'port-to-br', nic, '--', '--columns=name', 'find', 'Interface', `name=${nic}`, 'ofport>0'],
    expect: [`${br}\n${nic}`],
  };
}

/** A Bridge or Port row's name, validated for its table. */
function guardedRowName(table: 'Bridge' | 'Port', name: string): string {
  return table === 'Bridge' ? parseBridgeName(name, 'bridge') : parseInterfaceName(name, 'port');
}

/** The owner mark as a one-pair OVSDB map, `{"key"="value"}`, for a find condition. */
function markPair(key: string, value: string): string {
  return `{${quoteOvsdbString(checkKey(key, 'key'), 'key')}=${quoteOvsdbString(value, 'value')}}`;
}

/**
 * A guard: the Bridge or Port row `name` is absent, or its external_ids hold `key`=`value`
 * (the owner mark). A row without that mark stops the batch (see the module header).
 */
export function absentOrOwnedStep(table: 'Bridge' | 'Port', name: string, key: string, value: string): BatchStep {
  const n = guardedRowName(table, name);
  const pair = markPair(key, value);
  return {
    argv: ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, '--bare', '--', '--columns=name', 'find', table, `name=${n}`, '--', '--columns=name', 'find', table, `name=${n}`, `external_ids{>=}${pair}`],
    expect: ['', `${n}\n\n${n}`],
  };
}

/**
 * A guard over several rows in ONE ovs-vsctl run: each Bridge or Port row named is absent, or
 * its external_ids hold `key`=`value`. Any row without that mark stops the batch (its name is
 * in the step's stdout). Unlike absentOrOwnedStep it does not tell absent rows from ours.
 */
export function noForeignRowsStep(rows: ReadonlyArray<{ readonly table: 'Bridge' | 'Port'; readonly name: string }>, key: string, value: string): BatchStep {
  if (rows.length === 0) throw new TypeError('noForeignRowsStep needs at least one row');
  const pair = markPair(key, value);
  const finds = rows.flatMap(({ table, name }) => ['--', '--columns=name', 'find', table, `name=${guardedRowName(table, name)}`, `external_ids{not-in}${pair}`]);
  return { argv: ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, '--bare', ...finds], expect: [''] };
}

/**
 * A guard: no Interface on the host has an `options:remote_ip` (no tunnel left, of any owner
 * or bridge, `remote_ip=flow` included). Prints nothing when that holds; the names otherwise.
 * (`options:remote_ip!=""` matches exactly the rows that have the key: see the module header.)
 */
export function noTunnelLeftStep(): BatchStep {
  return { argv: ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, '--bare', '--', '--columns=name', 'find', 'Interface', 'options:remote_ip!=""'], expect: [''] };
}

/** True when an absentOrOwnedStep's (passed) output says the row exists. */
export function guardFoundRow(result: BatchResult): boolean {
  return result.stdout.trim() !== '';
}

/** `ovs-vsctl get Interface <name> mac_in_use` as a step; `parseMacInUse` reads its answer. */
export function macInUseStep(name: InterfaceName | BridgeName): BatchStep {
  return { argv: ['ovs-vsctl', `--timeout=${VSCTL_DEFAULT_TIMEOUT_SEC}`, 'get', 'Interface', parseInterfaceName(name, 'interface'), 'mac_in_use'] };
}

export function parseMacInUse(stdout: string): Mac {
  return parseMac(stdout.trim().replace(/^"|"$/g, ''), 'mac_in_use');
}

/** `ovs-vsctl --format=json list Interface` (name, options) as a step: see parseTunnelRemoteIps. */
export function tunnelRemoteIpsStep(): BatchStep {
  return { argv: readArgv([['--columns=name,options', 'list', 'Interface']]) };
}

/** The `options:remote_ip` values of a tunnelRemoteIpsStep's answer. */
export function parseTunnelRemoteIps(host: string, result: BatchResult): Set<string> {
  const { tables, fail } = tablesOf(host, tunnelRemoteIpsStep().argv, result, 1);
  try {
    const ips = new Set<string>();
    for (const row of tables[0].rows) {
      const ip = decodeStringMap(row.options).remote_ip;
      if (ip !== undefined) ips.add(ip);
    }
    return ips;
  } catch (e) {
    return fail(e);
  }
}

/** The Interface row, or undefined when there is none. */
export async function interfaceInfo(runner: CommandRunner, name: InterfaceName): Promise<InterfaceInfo | undefined> {
  const n = parseInterfaceName(name, 'interface');
  const { tables, fail } = await readTables(runner, [['--if-exists', `--columns=${INTERFACE_COLUMNS}`, 'list', 'Interface', n]], 1);
  try {
    const row = oneRow(tables[0]);
    return row ? decodeInterface(row) : undefined;
  } catch (e) {
    return fail(e);
  }
}

/** The Port row with its Interface and bridge (one ovs-vsctl call), or undefined when there is no such port. */
export async function portInfo(runner: CommandRunner, name: InterfaceName, opts: ReadOptions = {}): Promise<PortInfo | undefined> {
  const n = parseInterfaceName(name, 'port');
  const { tables, fail } = await readTables(runner, [...portListCommands(n), HOLDERS_COMMAND], 3, opts);
  try {
    return decodePort(tables[0], tables[1], tables[2]);
  } catch (e) {
    return fail(e);
  }
}

/** Every Bridge and Port of a host (each port with its Interface and bridge), by name. */
export interface HostList {
  readonly bridges: ReadonlyMap<string, BridgeInfo>;
  readonly ports: ReadonlyMap<string, PortInfo>;
}

const HOST_LIST_COMMANDS = [[`--columns=${BRIDGE_COLUMNS}`, 'list', 'Bridge'], ['--columns=_uuid,name,external_ids', 'list', 'Port'], [`--columns=${INTERFACE_COLUMNS}`, 'list', 'Interface'], HOLDERS_COMMAND];

/** ONE `ovs-vsctl --format=json` read of every Bridge, Port and Interface of the host, as a batch step. */
export function hostListStep(): BatchStep {
  return { argv: readArgv(HOST_LIST_COMMANDS) };
}

/** Decodes hostListStep's answer the way hostReadStep's is decoded, for every row. */
export function parseHostList(host: string, result: BatchResult): HostList {
  const { tables, fail } = tablesOf(host, hostListStep().argv, result, HOST_LIST_COMMANDS.length);
  try {
    const [bridgeTable, portTable, ifaceTable, holders] = tables;
    const bridges = new Map(bridgeTable.rows.map((r) => [decodeString(r.name), decodeBridge(r)]));
    const ifaces = new Map(ifaceTable.rows.map((r) => [decodeString(r.name), r]));
    const ports = new Map<string, PortInfo>();
    for (const row of portTable.rows) {
      const name = decodeString(row.name);
      const iface = ifaces.get(name);
      const info = decodePort({ ...portTable, rows: [row] }, { ...ifaceTable, rows: iface ? [iface] : [] }, holders);
      if (info) ports.set(name, info);
    }
    return { bridges, ports };
  } catch (e) {
    return fail(e);
  }
}

/**
 * The `options:remote_ip` of every Interface on the host (one `ovs-vsctl list Interface`):
 * the tunnel remotes still configured, whatever bridge or owner holds them.
 */
export async function tunnelRemoteIps(runner: CommandRunner): Promise<Set<string>> {
  const step = tunnelRemoteIpsStep();
  const result = await runner.run(step.argv, { timeoutMs: (VSCTL_DEFAULT_TIMEOUT_SEC + 5) * 1000 });
  return parseTunnelRemoteIps(runner.host, result);
}

/**
 * The MAC address an interface uses now (`ovs-vsctl --timeout=10 get Interface <name>
 * mac_in_use`; a bridge's own interface has the bridge's name). OVS prints it as a quoted
 * OVSDB string.
 */
export async function macInUse(runner: CommandRunner, name: InterfaceName | BridgeName): Promise<Mac> {
  const iface = parseInterfaceName(name, 'interface');
  const r = await runner.run(macInUseStep(iface).argv);
  return parseMacInUse(r.stdout);
}
