/**
 * GroupCommit (providers/exec/group-commit.ts): the first request of an idle key runs alone at
 * once; requests that come while it is in flight go together in the next run; each gets its
 * own outcome; keys do not wait for each other.
 */
import { GroupCommit } from '../../../providers/exec/group-commit';

/** A run that the test finishes by hand: `groups` records each run's items. */
function manual<T>() {
  const groups: T[][] = [];
  const finish: Array<() => void> = [];
  const commit = new GroupCommit<T, string>(async (items) => {
    groups.push([...items]);
    await new Promise<void>((r) => finish.push(r));
    return items.map((i) => (String(i).startsWith('bad') ? { status: 'rejected', reason: new Error(`no ${i}`) } : { status: 'fulfilled', value: `ok ${i}` }));
  }, 3);
  return { commit, groups, finish };
}
const tick = () => new Promise((r) => setImmediate(r));

it('first alone, the ones that came meanwhile together (at most maxGroup), each with its own outcome', async () => {
  const { commit, groups, finish } = manual<string>();
  const first = commit.submit('h2', 'a');
  const rest = ['b', 'bad-c', 'd', 'e'].map((i) => commit.submit('h2', i).catch((e: Error) => e.message));
  await tick();
  expect(groups).toEqual([['a']]);
  finish.shift()!();
  await expect(first).resolves.toBe('ok a');
  await tick();
  expect(groups).toEqual([['a'], ['b', 'bad-c', 'd']]);
  finish.shift()!();
  await tick();
  expect(groups).toEqual([['a'], ['b', 'bad-c', 'd'], ['e']]);
  finish.shift()!();
  await expect(Promise.all(rest)).resolves.toEqual(['ok b', 'no bad-c', 'ok d', 'ok e']);
  // Idle again: the next request runs at once, alone.
  const again = commit.submit('h2', 'f');
  await tick();
  expect(groups[3]).toEqual(['f']);
  finish.shift()!();
  await expect(again).resolves.toBe('ok f');
});

it('other keys run at once, beside a busy one', async () => {
  const { commit, groups, finish } = manual<string>();
  const all = [commit.submit('h2', 'a'), commit.submit('h2', 'b'), commit.submit('h3', 'c')];
  await tick();
  expect(groups).toEqual([['a'], ['c']]);
  finish.splice(0).forEach((f) => f());
  await tick();
  expect(groups).toEqual([['a'], ['c'], ['b']]);
  finish.splice(0).forEach((f) => f());
  await expect(Promise.all(all)).resolves.toEqual(['ok a', 'ok b', 'ok c']);
});

it('a run that throws fails every member of its group with that error, and the key goes on', async () => {
  let calls = 0;
  const commit = new GroupCommit<number, number>(async (items) => {
    calls++;
    if (calls === 2) throw new Error('connection lost');
    return items.map((i) => ({ status: 'fulfilled', value: i * 10 }));
  });
  const out = await Promise.allSettled([1, 2, 3].map((i) => commit.submit('k', i)));
  expect(out.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([10, 'connection lost', 'connection lost']);
  await expect(commit.submit('k', 4)).resolves.toBe(40);
});
