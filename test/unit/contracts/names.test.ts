/**
 * contracts/: StreamingTree's child names round-trip through their parser (the monitor reads
 * them back from URNs), the project root is the folder of package.json, and the re-exported
 * contracts are the providers' own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHILD_KINDS, childIdOf, childName, parseChildName, parsePathName, projectRoot, fnv1a32, MARKER_TABLE, sharedCookieText, cookiesEqual, UNKNOWN, containsUnknown } from '../../../contracts';
import * as plan from '../../../providers/flow-path/plan';

describe('child names', () => {
  test('the scheme the deployed stacks have', () => {
    expect(childName('tree', 'bridge', 'h1')).toBe('tree-bridge-h1');
    expect(childName('tree', 'tunnel', 'h1-h2')).toBe('tree-tunnel-h1-h2');
    expect(childName('tree', 'path', 'p1@h4')).toBe('tree-path-p1@h4');
    expect(childName('tree', 'vm', 'v1')).toBe('tree-vm-v1');
  });

  test.each(CHILD_KINDS.flatMap((kind) => ['tree', 'my-tree', 'a'].flatMap((tree) => ['h1', 'n-2', 'x-y-z', 'p1@h4'].map((id) => [tree, kind, id] as const))))(
    'round trip %s %s %s',
    (tree, kind, id) => {
      const name = childName(tree, kind, id);
      expect(childIdOf(name, kind)).toBe(id);
      expect(parseChildName(name)).toEqual({ tree, kind, id });
    },
  );

  test('not a child of that kind', () => {
    expect(childIdOf('tree-bridge-h1', 'vm')).toBeUndefined();
    expect(childIdOf('tree-bridge--x', 'bridge')).toBeUndefined();
    expect(parseChildName('something')).toBeUndefined();
  });

  test('path names', () => {
    expect(parsePathName('p1@h4')).toEqual({ path: 'p1', leaf: 'h4' });
    expect(parsePathName('p1')).toBeUndefined();
  });
});

describe('the other contracts', () => {
  test('project root holds package.json', () => {
    expect(fs.existsSync(path.join(projectRoot(), 'package.json'))).toBe(true);
    expect(projectRoot(__dirname)).toBe(path.resolve(__dirname, '..', '..', '..'));
  });

  test('the providers own the hash and the marker table', () => {
    expect(fnv1a32).toBe(plan.fnv1a32);
    expect(MARKER_TABLE).toBe(plan.MARKER_TABLE);
    expect(sharedCookieText(0x1234)).toBe('0x5700000000001234');
    expect(cookiesEqual('0x10', '16')).toBe(true);
    expect(cookiesEqual('x', 'x')).toBe(false);
  });

  test('unknown sentinel', () => {
    expect(containsUnknown({ hops: [{ node: UNKNOWN }] })).toBe(true);
    expect(containsUnknown({ hops: [] })).toBe(false);
  });
});
