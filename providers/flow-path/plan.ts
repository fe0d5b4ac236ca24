/**
 * The pure part of FlowPath: which OpenFlow state a path needs on each hop, and the bundle
 * that adds or removes exactly its own part of a switch shared with other paths.
 *
 * Per hop, a path is one or two *segments* (in_port + stream match -> actions):
 *   root / pass-through:   in -> out
 *   node with a VM:        in -> vm,   vm -> out      (the VM relays the stream; with vmMac/vmIp
 *                          the stream is first addressed to the VM, so its kernel accepts it)
 *   leaf:                  last segment rewrites eth_src/eth_dst/ip_dst and outputs to the patch
 *
 * Sharing. Two paths through one switch may need the same segment match (the root, a relay).
 * So each segment match owns an OpenFlow `group type=all`; the table-0 flow (the *shared
 * flow*) sends to the group, and each distinct action list is one bucket:
 *   group id  G = 1 + fnv1a32(in_port | match) mod 0xfffffe00     (per switch)
 *   bucket id B = fnv1a32(actions) mod 0xffffff00                    (same actions = same bucket,
 *                                                                       so a shared hop never duplicates packets)
 *   shared flow: table 0, priority 1000, cookie 0x57000000_<G>, match -> group:G
 * Ownership of (G, B) is recorded by *marker flows* that never see a packet (table 250, no
 * goto reaches it): cookie = the path's cookie, match metadata=G<<32|B, reg0/reg1 = the two
 * halves of the path's cookie (flows are identified by match, so the match must be unique
 * per path), actions=drop. A path removes its bucket only when no other path's marker names
 * it, and the group with its shared flow only when no bucket is left. Everything a path
 * installs on a switch goes in one atomic bundle: a create's computed as if the switch held
 * none of its groups (OVS refuses it whole when one exists), any other from a dump under the
 * switch's lock (provider.ts).
 *
 * Failover (a relay R dies; DESIGN.md "beyond the paper"). A hop P whose next hop is a relay
 * may carry `backup: {outPort: B}`: its exit bucket then sends to a fast-failover group F
 * instead of straight to the primary tunnel X (groups chain: all-group bucket -> group:F):
 *   F = 1 + fnv1a32("ff|G|X|B|tag") mod 0xfffffe00, type ff, buckets
 *     0: watch_port X              -> output:X                   (R alive: BFD up on X)
 *     1: watch_port B              -> set eth_src=tag, output:B  (R dead, backup neighbour up)
 *     2: watch_group G             -> output:X, set eth_src=tag, output:B
 *                                    (neither BFD session up: an all-group is always live.
 *                                     Either BFD is still starting, or a session flapped on a
 *                                     loaded host, or both neighbours died: send both ways, a
 *                                     duplicate is better than a gap; a flapped session takes
 *                                     ~1 s to come back, BFD restarts at 1 s intervals)
 * F belongs to the bucket (G, B) that names it: created with the bucket, deleted with it, so
 * the bucket's markers own it too, and paths that share the bucket share F.
 * `backupHops` (each with `from` = the index of the hop where its route diverges) pre-install
 * the route around R: transit hops (in -> out) and, last, the *join* on a switch of the path
 * after R (in -> whatever that hop does with the stream). Backup segments match the tag in
 * eth_src (tag = 02:56:46 + 3 bytes of fnv1a32(P's switch|X)) at priority 1001, so the same
 * stream arriving untagged for another path never takes a backup route, and a backup route
 * carries only traffic diverted at P; the join's actions are the hop's own (its leaf rewrite
 * sets eth_src anyway). A path's parts on one switch (primary hop, joins, transits of several
 * routes) are merged into one *switch plan*, installed and removed in one bundle.
 *
 * The modules, each pure:
 *   ids.ts           the ids and hashes above (fnv1a32, group/bucket/ff ids, cookies, tags),
 *                    the marker table and its parser
 *   spec.ts          the stored inputs parsed once into typed values (parsePath)
 *   segments.ts      the segments of each hop and the per-switch plan (planPath, planSwitches)
 *   switch-model.ts  a switch's state and how OVS applies a bundle to it (applyOps)
 *   ops.ts           the bundles: install, remove, swap, collect leftovers; missing parts
 * This file is their one entry point (the provider, the monitor and the tests import it).
 */
export * from './ids';
export * from './spec';
export * from './segments';
export * from './switch-model';
export * from './ops';
