/**
 * Ownership marks. Everything VPM creates in OVSDB carries `external_ids:vpm-owner=<owner>`;
 * a provider touches a row only when the mark names it. The owner is the resource's stable
 * identity: project/stack/resource name (not a URN, which the provider does not receive).
 */
import * as crypto from 'crypto';

export const OWNER_KEY = 'vpm-owner';

export function ownerFor(project: string, stack: string, name: string): string {
  return `${project}/${stack}/${name}`;
}

/** A 64-bit OpenFlow cookie derived from an owner string: "0x" + 16 hex digits, never 0 or all-ones. */
export function cookieFor(owner: string): string {
  const digest = crypto.createHash('sha256').update(owner).digest();
  // The top byte is fixed to 0x56 ('V') so VPM's flows are easy to spot in dump-flows.
  digest[0] = 0x56;
  return '0x' + digest.subarray(0, 8).toString('hex');
}

/**
 * For `check`: a resource that exists keeps the owner it was created with. The owner is
 * derived from project/stack/name only at creation; renaming the resource (with `aliases`),
 * its parent component, the stack (`pulumi stack rename`) or the project changes that
 * derivation but must not change what the resource owns on the hosts, or every bridge and
 * tunnel would be replaced and the stream cut.
 */
export function keepOwner(olds: unknown, news: unknown): unknown {
  const previous = (olds as { owner?: unknown } | undefined)?.owner;
  if (typeof previous !== 'string' || previous === '' || news === null || typeof news !== 'object') return news;
  return { ...(news as Record<string, unknown>), owner: previous };
}
