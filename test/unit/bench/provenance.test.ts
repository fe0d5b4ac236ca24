/**
 * The benchmark report's provenance: a tree with changed or untracked files is refused unless
 * --dirty, and a dirty report says so in its first lines with the full commit.
 */
import { dirtyLines, provenanceLines, refusal } from '../../../bench/lib/provenance';

const COMMIT = '2d26cda0123456789abcdef0123456789abcdef0';

describe('bench provenance', () => {
  test('porcelain output: modified, staged and untracked files are all dirty', () => {
    expect(dirtyLines(' M bench/run-all.ts\nA  bench/lib/new.ts\n?? bench/scratch.ts\n')).toEqual([' M bench/run-all.ts', 'A  bench/lib/new.ts', '?? bench/scratch.ts']);
    expect(dirtyLines('')).toEqual([]);
  });

  test('an untracked file alone refuses the run, naming it and the way out', () => {
    const why = refusal({ commit: COMMIT, dirty: ['?? bench/scratch.ts'] }, false);
    expect(why).toMatch(/bench\/scratch\.ts/);
    expect(why).toMatch(/--dirty/);
    expect(why).toContain(COMMIT);
  });

  test('a clean tree runs; a dirty one runs only with --dirty', () => {
    expect(refusal({ commit: COMMIT, dirty: [] }, false)).toBeUndefined();
    expect(refusal({ commit: COMMIT, dirty: [' M README.md'] }, true)).toBeUndefined();
  });

  test('the report names the full commit; a dirty run says so first, with the files', () => {
    expect(provenanceLines({ commit: COMMIT, dirty: [] })).toEqual([`Commit ${COMMIT}, working tree clean (no changed or untracked files).`]);
    const dirty = provenanceLines({ commit: COMMIT, dirty: [' M bench/failover.ts', '?? x.ts'] });
    expect(dirty).toHaveLength(1);
    expect(dirty[0]).toMatch(/^\*\*Not reproducible from a commit: run with `--dirty`/);
    expect(dirty[0]).toContain(COMMIT);
    expect(dirty[0]).toContain('` M bench/failover.ts`');
    expect(dirty[0]).toContain('`?? x.ts`');
  });
});
