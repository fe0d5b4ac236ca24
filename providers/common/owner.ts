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
