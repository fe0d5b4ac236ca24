/**
 * The recorded lab fixture (lab-hosts.json) was taken before `vpm status` read groups: this
 * gives each host the `dump-groups` answer a switch holding exactly the model's planned groups
 * prints (OVS's OpenFlow 1.5 group-desc format), so those tests keep checking counters, CPU,
 * VMs and tunnels. Whether status judges real groups right is shown by the tests on real
 * dumps (paper stack) and by removing a group here.
 */
import { groupToOfctl, type Group } from '../../providers/ovs/group';
import type { StackModel } from '../../monitor/model';

export const DUMP_GROUPS_BR1 = 'ovs-ofctl -O OpenFlow15 --no-names dump-groups br1';

export function plannedGroupsDump(model: StackModel, host: string, skip: (g: Group) => boolean = () => false): string {
  const groups = new Map<number, Group>();
  for (const p of model.paths) {
    for (const sw of p.switches ?? []) {
      if (sw.host !== host) continue;
      for (const s of sw.plan.segments) {
        const g = groups.get(s.groupId) ?? { id: s.groupId as Group['id'], type: 'all' as const, buckets: [] };
        if (!g.buckets.some((b) => b.id === s.bucket.id)) groups.set(s.groupId, { ...g, buckets: [...g.buckets, s.bucket] });
        if (s.ff) groups.set(s.ff.id, s.ff);
      }
    }
  }
  const lines = [...groups.values()].filter((g) => !skip(g)).map((g) => ` ${groupToOfctl(g)}`);
  return ['OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):', ...lines].join('\n') + '\n';
}
