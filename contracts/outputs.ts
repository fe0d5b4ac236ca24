/**
 * Typed readers of each VPM resource's state: what `pulumi stack export` holds as a
 * resource's outputs (or inputs), and what the engine's events carry as a step's old and new
 * inputs. The providers write these shapes (their *Outputs types, which extend their checked
 * *Inputs); readers elsewhere (monitor/, lab/) read them back through here instead of
 * picking fields out of `Record<string, unknown>` by hand. Each reader is lenient: state from
 * any provider version, a preview's partial inputs, or unknowns yield the fields that have
 * the right type and leave the others out. Field names are checked against the providers'
 * types at compile time (`field<T>()`), so a renamed output breaks the build, not the monitor.
 *
 * Connections are returned as they are in the state (`unknown`: maybe a secret envelope);
 * monitor/model.ts connectionFromState turns one into a ConnectionSpec.
 */
import type { FlowPathOutputs, Hop } from '../providers/flow-path/types';
import type { GreTunnelOutputs, TunnelEnd } from '../providers/gre-tunnel/types';
import type { MigratedDomainOutputs, DomainNetwork } from '../providers/migrated-domain/types';
import type { OvsBridgeOutputs } from '../providers/ovs-bridge/types';

type Obj = Record<string, unknown>;

/** A property name of T (compile-time check that the providers still write it). */
const field = <T>(name: keyof T & string): string => name;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const objOf = (v: unknown): Obj => (isObj(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Only the fields that are defined (so a view compares and spreads like the state). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The resource kind of a Pulumi type token (`vpm:index:OvsBridge`, `pulumi-nodejs:dynamic:Resource`...): its last part. */
export function resourceKind(type: string): string {
  return type.split(/[:/]/).pop() ?? type;
}

/** OvsBridge: the bridge's name and the connection to its host. */
export interface BridgeView {
  readonly name?: string;
  readonly connection?: unknown;
}

export function readBridge(state: unknown): BridgeView {
  const o = objOf(state);
  return defined({ name: str(o[field<OvsBridgeOutputs>('name')]), connection: o[field<OvsBridgeOutputs>('connection')] });
}

/** One end of a GreTunnel. `ofport` is the requested port; the tunnel's aOfport/bOfport the real one. */
export interface TunnelEndView {
  readonly connection?: unknown;
  readonly portName?: string;
  readonly remoteIp?: string;
  readonly ofport?: number;
}

export interface TunnelView {
  readonly a?: TunnelEndView;
  readonly b?: TunnelEndView;
  readonly aOfport?: number;
  readonly bOfport?: number;
}

function readTunnelEnd(v: unknown): TunnelEndView | undefined {
  if (!isObj(v)) return undefined;
  return defined({
    connection: v[field<TunnelEnd>('connection')],
    portName: str(v[field<TunnelEnd>('portName')]),
    remoteIp: str(v[field<TunnelEnd>('remoteIp')]),
    ofport: num(v[field<TunnelEnd>('ofport')]),
  });
}

export function readTunnel(state: unknown): TunnelView {
  const o = objOf(state);
  return defined({
    a: readTunnelEnd(o[field<GreTunnelOutputs>('a')]),
    b: readTunnelEnd(o[field<GreTunnelOutputs>('b')]),
    aOfport: num(o[field<GreTunnelOutputs>('aOfport')]),
    bOfport: num(o[field<GreTunnelOutputs>('bOfport')]),
  });
}

/** One hop of a FlowPath. */
export interface HopView {
  readonly node?: string;
  readonly connection?: unknown;
  readonly bridge?: string;
  readonly inPort?: number;
  readonly outPort?: number;
  readonly vmPort?: number;
}

export interface FlowPathView {
  readonly pathId?: string;
  readonly cookie?: string;
  readonly hops: readonly HopView[];
  /** The rules per hop, as check computed them (what preview shows). */
  readonly flows: ReadonlyArray<{ readonly node?: string; readonly rules: readonly string[] }>;
  readonly receiverIp?: string;
  readonly udpDst?: number;
}

export function readFlowPath(state: unknown): FlowPathView {
  const o = objOf(state);
  const hops = objects(o[field<FlowPathOutputs>('hops')]).map((h) =>
    defined({
      node: str(h[field<Hop>('node')]),
      connection: h[field<Hop>('connection')],
      bridge: str(h[field<Hop>('bridge')]),
      inPort: num(h[field<Hop>('inPort')]),
      outPort: num(h[field<Hop>('outPort')]),
      vmPort: num(h[field<Hop>('vmPort')]),
    }),
  );
  const flows = objects(o[field<FlowPathOutputs>('flows')]).map((f) => defined({ node: str(f.node), rules: strings(f.rules) }));
  return defined({
    pathId: str(o[field<FlowPathOutputs>('pathId')]),
    cookie: str(o[field<FlowPathOutputs>('cookie')]),
    hops,
    flows,
    receiverIp: str(objOf(o[field<FlowPathOutputs>('egress')]).receiverIp),
    udpDst: num(objOf(o[field<FlowPathOutputs>('stream')]).udpDst),
  });
}

/** MigratedDomain: the VM, where it is, and where refresh looks for it. */
export interface DomainView {
  readonly name?: string;
  readonly host?: string;
  readonly connection?: unknown;
  readonly role?: string;
  readonly state?: string;
  /** The VM port's fixed OpenFlow number. */
  readonly ofport?: number;
  readonly peers: ReadonlyArray<{ readonly host?: string; readonly connection?: unknown }>;
  readonly lastMigration?: Record<string, unknown>;
}

export function readDomain(state: unknown): DomainView {
  const o = objOf(state);
  const lm = o[field<MigratedDomainOutputs>('lastMigration')];
  return defined({
    name: str(o[field<MigratedDomainOutputs>('name')]),
    host: str(o[field<MigratedDomainOutputs>('host')]),
    connection: o[field<MigratedDomainOutputs>('connection')],
    role: str(o[field<MigratedDomainOutputs>('role')]),
    state: str(o[field<MigratedDomainOutputs>('state')]),
    ofport: num(objOf(o[field<MigratedDomainOutputs>('network')])[field<DomainNetwork>('ofport')]),
    peers: objects(o[field<MigratedDomainOutputs>('peers')]).map((p) => defined({ host: str(p.host), connection: p.connection })),
    lastMigration: isObj(lm) ? lm : undefined,
  });
}
