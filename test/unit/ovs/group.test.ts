import { act } from '../../../providers/ovs/flow';
import {
  Bucket,
  bucketToOfctl,
  delGroupToOfctl,
  groupToOfctl,
  insertBucketsToOfctl,
  removeBucketToOfctl,
} from '../../../providers/ovs/group';
import { BucketId, GroupId, OfPortNumber } from '../../../providers/ovs/values';
import { validationProblems as problems } from '../../support/expect';

const g = (n: number) => n as GroupId;
const b = (n: number) => n as BucketId;
const p = (n: number) => n as OfPortNumber;

describe('group texts', () => {
  test('add-group type=all with buckets', () => {
    expect(
      groupToOfctl({
        id: g(5),
        type: 'all',
        buckets: [
          { id: b(1), actions: [act.output(10)] },
          { id: b(2), actions: [act.setIpDst('10.0.0.9'), act.output(20)] },
        ],
      }),
    ).toBe('group_id=5,type=all,bucket=bucket_id:1,actions=output:10,bucket=bucket_id:2,actions=set_field:10.0.0.9->ip_dst,output:20');
  });
  test('add-group without buckets (owners insert theirs)', () => {
    expect(groupToOfctl({ id: g(6), type: 'all', buckets: [] })).toBe('group_id=6,type=all');
  });
  test('fast failover with watch_port', () => {
    expect(
      groupToOfctl({
        id: g(7),
        type: 'ff',
        buckets: [
          { id: b(0), watchPort: p(20), actions: [act.output(20)] },
          { id: b(1), watchPort: p(10), actions: [act.output('LOCAL')] },
        ],
      }),
    ).toBe('group_id=7,type=ff,bucket=bucket_id:0,watch_port:20,actions=output:20,bucket=bucket_id:1,watch_port:10,actions=LOCAL');
  });
  test('insert-buckets', () => {
    expect(insertBucketsToOfctl({ groupId: g(5), type: 'all', buckets: [{ id: b(7), actions: [act.inPort()] }] })).toBe(
      'group_id=5,command_bucket_id=last,bucket=bucket_id:7,actions=IN_PORT',
    );
    expect(
      insertBucketsToOfctl({ groupId: g(5), type: 'all', position: 'first', buckets: [{ id: b(8), actions: [act.output(1)] }, { id: b(9), actions: [act.drop()] }] }),
    ).toBe('group_id=5,command_bucket_id=first,bucket=bucket_id:8,actions=output:1,bucket=bucket_id:9,actions=drop');
    expect(insertBucketsToOfctl({ groupId: g(5), type: 'ff', position: b(3), buckets: [{ id: b(4), watchPort: p(2), actions: [act.output(2)] }] })).toBe(
      'group_id=5,command_bucket_id=3,bucket=bucket_id:4,watch_port:2,actions=output:2',
    );
  });
  test('remove-buckets and del-groups', () => {
    expect(removeBucketToOfctl(g(5), b(3))).toBe('group_id=5,command_bucket_id=3');
    expect(removeBucketToOfctl(g(0xffffff00), b(0))).toBe('group_id=4294967040,command_bucket_id=0');
    expect(delGroupToOfctl(g(5))).toBe('group_id=5');
  });
  test('one bucket', () => {
    expect(bucketToOfctl({ id: b(3), actions: [act.group(4)] }, 'all')).toBe('bucket=bucket_id:3,actions=group:4');
  });
});

describe('group invariants', () => {
  test('ff buckets need a numbered watch port', () => {
    expect(problems(() => groupToOfctl({ id: g(1), type: 'ff', buckets: [{ id: b(0), actions: [act.output(1)] }] }))).toEqual([
      { property: 'group.buckets[0].watchPort', reason: expect.stringContaining('need a watchPort') },
    ]);
    expect(
      problems(() => groupToOfctl({ id: g(1), type: 'ff', buckets: [{ id: b(0), watchPort: 'LOCAL' as never, actions: [act.output(1)] }] }))[0]
        .property,
    ).toBe('group.buckets[0].watchPort');
  });
  test('all buckets must not have a watch port', () => {
    expect(problems(() => groupToOfctl({ id: g(1), type: 'all', buckets: [{ id: b(0), watchPort: p(1), actions: [act.output(1)] }] }))[0].reason).toContain(
      "only meaningful in 'ff'",
    );
  });
  test('unique bucket ids, valid ids, known type', () => {
    const bucket: Bucket = { id: b(1), actions: [act.output(1)] };
    expect(problems(() => groupToOfctl({ id: g(1), type: 'all', buckets: [bucket, bucket] }))[0].reason).toContain('appears twice');
    expect(problems(() => groupToOfctl({ id: g(0), type: 'all', buckets: [] }))[0].property).toBe('group.id');
    expect(problems(() => groupToOfctl({ id: g(1), type: 'select' as never, buckets: [] }))[0].property).toBe('group.type');
    expect(problems(() => removeBucketToOfctl(g(1), b(0xffffff01)))[0].property).toBe('removeBucket.bucketId');
    expect(problems(() => insertBucketsToOfctl({ groupId: g(1), type: 'all', buckets: [] }))[0].property).toBe('insertBuckets.buckets');
    expect(problems(() => insertBucketsToOfctl({ groupId: g(1), type: 'all', position: 'middle' as never, buckets: [bucket] }))[0].property).toBe(
      'insertBuckets.position',
    );
  });
  test('bucket actions are checked like flow actions', () => {
    expect(problems(() => groupToOfctl({ id: g(1), type: 'all', buckets: [{ id: b(0), actions: [] }] }))[0].property).toBe('group.buckets[0].actions');
    expect(problems(() => groupToOfctl({ id: g(1), type: 'all', buckets: [{ id: b(0), actions: [act.drop(), act.output(1)] }] }))[0].property).toBe(
      'group.buckets[0].actions[0]',
    );
  });
});
