/**
 * The one hash VPM derives ids from: FlowPath's group, bucket and fast-failover ids and backup
 * tags (flow-path/plan.ts), the readiness probe's cookie (migrated-domain/readiness.ts), and
 * StreamingTree's port numbers and MACs (components/streaming-tree/ports.ts). Changing it
 * renumbers what deployed stacks own: it is part of the state's contract.
 */

/** FNV-1a, 32 bits: small, stable, no dependency; ids only need to be spread, not secret. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
