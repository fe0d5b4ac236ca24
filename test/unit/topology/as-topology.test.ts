/**
 * asTopology: the one parse of StreamingTree's `topology` argument. A Topology that
 * parseTopology (or loadTopologyFile) returned is used as it is; anything else, a raw object or
 * a Topology built by hand, goes through parseTopology and its checks.
 */
import { join } from 'node:path';
import { asTopology, loadTopologyFile, parseTopology, TopologyError, type Topology } from '../../../components/topology';
import { paperTopology } from '../../support/topology-fixtures';

describe('asTopology', () => {
  it('returns a parsed topology itself (no second parse)', () => {
    const t = parseTopology(paperTopology());
    expect(asTopology(t)).toBe(t);
    const loaded = loadTopologyFile(join(__dirname, '../../../stacks/topologies/paper.yaml'));
    expect(asTopology(loaded)).toBe(loaded);
  });

  it('parses a raw object into the same Topology parseTopology gives', () => {
    const raw = paperTopology();
    const t = asTopology(raw);
    expect(t).not.toBe(raw);
    expect(t).toEqual(parseTopology(raw));
    expect(asTopology(t)).toBe(t);
  });

  it('checks a Topology built by hand (its type is no proof it was checked)', () => {
    const t = parseTopology(paperTopology());
    const copy: Topology = { ...t, links: [...t.links, { a: t.links[0].a, b: t.links[0].a }] };
    expect(() => asTopology(copy)).toThrow(TopologyError);
  });

  it('refuses what parseTopology refuses, with the source named', () => {
    expect(() => asTopology({ nodes: 'x' }, 'stack config')).toThrow(/stack config/);
    expect(() => asTopology(undefined)).toThrow(TopologyError);
  });
});
