/**
 * Batch steps for the one rule VPM keeps on a bridge it does not create: OvsBridge's static
 * rule on the physical bridge (br0), "what comes from the patch goes straight out of the NIC".
 * They speak OVS's default OpenFlow version, as ofctl.ts's foreign-bridge executors do (the
 * physical bridge need not list OpenFlow15).
 *
 * The rule is ADDED by port names (`in_port="patch-phy",actions=output:"eth0"`): ovs-ofctl
 * resolves them on the switch itself (OVS >= 2.8 accepts a port name, double-quoted, wherever
 * it accepts a number), so the add can run in the same round trip as the transaction that
 * creates the patch port, before anyone knows its number. Dumps and strict deletes use
 * numbers (`--no-names`), through flow.ts's serializer and ofctl.ts's parser.
 */
import type { BatchResult, BatchStep } from '../exec';
import { ValidationError } from '../exec';
import { OFCTL_DEFAULT_VERSION, parseDumpFlows, parseStepOutput, type DumpedFlow } from './ofctl';
import { Cookie, InterfaceName, BridgeName, formatCookie, isReservedCookie, parseBridgeName, parseCookie, parseInterfaceName, show } from './values';

function ownerCookie(cookie: Cookie, property: string): string {
  const c = parseCookie(cookie, property);
  if (isReservedCookie(c)) throw new ValidationError([{ property, reason: `cookie ${show(cookie)} is reserved: an owner's cookie is neither 0 nor all-ones` }]);
  return formatCookie(c);
}

/** `ovs-ofctl add-flow <bridge> priority=P,cookie=C,in_port="<from>",actions=output:"<to>"`. */
export function addRuleByNameStep(bridge: BridgeName, rule: { priority: number; cookie: Cookie; from: InterfaceName; to: InterfaceName }): BatchStep {
  if (!Number.isInteger(rule.priority) || rule.priority < 0 || rule.priority > 65535) {
    throw new ValidationError([{ property: 'priority', reason: `priority ${show(rule.priority)} is invalid: use 0..65535` }]);
  }
  const from = parseInterfaceName(rule.from, 'from');
  const to = parseInterfaceName(rule.to, 'to');
  const text = `table=0,priority=${rule.priority},cookie=${ownerCookie(rule.cookie, 'cookie')},in_port="${from}",actions=output:"${to}"`;
  return { argv: [...OFCTL_DEFAULT_VERSION, 'add-flow', parseBridgeName(bridge, 'bridge'), text] };
}

/**
 * `ovs-ofctl --no-names --no-stats dump-flows <bridge> [cookie=C/-1]`: the bridge's flows, or
 * only one owner's (parse with rulesFrom); exit 1 (no such bridge) is allowed.
 */
export function dumpRulesStep(bridge: BridgeName, cookie?: Cookie): BatchStep {
  const filter = cookie === undefined ? [] : [`cookie=${ownerCookie(cookie, 'cookie')}/-1`];
  return { argv: [...OFCTL_DEFAULT_VERSION, '--no-names', '--no-stats', 'dump-flows', parseBridgeName(bridge, 'bridge'), ...filter], okExitCodes: [0, 1] };
}

/** The flows of a dumpRulesStep's answer; undefined when the bridge is missing (exit 1). */
export function rulesFrom(host: string, step: BatchStep, r: BatchResult): DumpedFlow[] | undefined {
  return r.exitCode === 0 ? parseStepOutput(host, step, r, parseDumpFlows) : undefined;
}

/** `ovs-ofctl del-flows <bridge> cookie=C/-1`: every flow of this owner; none is fine. */
export function delCookieStep(bridge: BridgeName, cookie: Cookie): BatchStep {
  return { argv: [...OFCTL_DEFAULT_VERSION, 'del-flows', parseBridgeName(bridge, 'bridge'), `cookie=${ownerCookie(cookie, 'cookie')}/-1`] };
}
