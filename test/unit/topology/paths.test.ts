/** pathHops, backupPath and planPaths on small hand-made trees. */
import { backupPath, pathHops, planPaths, TopologyError } from '../../../components/topology';

//   r - x - l2        tree
//   |   |
//   l1 -+             redundancy l1-x, l1-l2
const tree = [
  { a: 'r', b: 'x' },
  { a: 'l1', b: 'r' },
  { a: 'x', b: 'l2' },
];
const redundancy = [
  { a: 'l1', b: 'x' },
  { a: 'l1', b: 'l2' },
];

describe('pathHops', () => {
  it('walks the tree from the root to the leaf', () => {
    expect(pathHops(tree, 'r', 'l2')).toEqual(['r', 'x', 'l2']);
    expect(pathHops(tree, 'r', 'l1')).toEqual(['r', 'l1']);
    expect(pathHops(tree, 'r', 'r')).toEqual(['r']);
  });

  it('throws for a leaf that is not on the tree', () => {
    expect(() => pathHops(tree, 'r', 'zz')).toThrow(TopologyError);
    expect(() => pathHops(tree, 'r', 'zz')).toThrow(/leaf: "zz" is not on the tree rooted at "r"/);
  });
});

describe('backupPath', () => {
  it('routes around a failed relay over redundancy links', () => {
    expect(backupPath(tree, redundancy, 'r', 'l2', 'x')).toEqual(['r', 'l1', 'l2']);
  });

  it('returns the tree path when the failed node is not on it', () => {
    expect(backupPath(tree, redundancy, 'r', 'l2', 'l1')).toEqual(['r', 'x', 'l2']);
  });

  it('picks the shortest route, deterministically', () => {
    // Two 3-hop routes around x: via a (tree links first) and via b.
    const t = [
      { a: 'r', b: 'x' },
      { a: 'x', b: 'l' },
      { a: 'r', b: 'a' },
      { a: 'r', b: 'b' },
      { a: 'r', b: 'c' },
    ];
    const red = [
      { a: 'c', b: 'd' },
      { a: 'd', b: 'l' },
      { a: 'b', b: 'l' },
      { a: 'a', b: 'l' },
    ];
    expect(backupPath(t, red, 'r', 'l', 'x')).toEqual(['r', 'a', 'l']);
    expect(backupPath(t, red, 'r', 'l', 'a')).toEqual(['r', 'x', 'l']);
  });

  it('throws when no route avoids the failed node', () => {
    expect(() => backupPath(tree, [], 'r', 'l2', 'x')).toThrow(
      /no alternative path from root "r" to leaf "l2" avoiding "x"; add a redundancy link around "x"/,
    );
  });

  it('refuses a failed root or a failed leaf', () => {
    expect(() => backupPath(tree, redundancy, 'r', 'l2', 'r')).toThrow(/"r" is the root/);
    expect(() => backupPath(tree, redundancy, 'r', 'l2', 'l2')).toThrow(/"l2" is the leaf/);
  });
});

describe('planPaths', () => {
  const receiver = { ip: '10.0.0.255' };
  const stream = { udpPort: 5004 };

  it('gives each declared path its hops', () => {
    const planned = planPaths({ paths: [{ id: 'p', leaf: 'l2', receiver, stream }] }, { tree, root: 'r' });
    expect(planned).toEqual([{ id: 'p', leaf: 'l2', hops: ['r', 'x', 'l2'], receiver, stream }]);
  });

  it('names every path whose leaf is off the tree', () => {
    const paths = [
      { id: 'a', leaf: 'gone', receiver, stream },
      { id: 'b', leaf: 'l1', receiver, stream },
      { id: 'c', leaf: 'lost', receiver, stream },
    ];
    try {
      planPaths({ paths }, { tree, root: 'r' });
      throw new Error('expected a TopologyError');
    } catch (e) {
      expect((e as TopologyError).problems.map((p) => p.path)).toEqual(['paths[0].leaf', 'paths[2].leaf']);
    }
  });
});
