/**
 * Hostile topology files (issue 17, item 4): size, nesting depth and problem count are
 * bounded, and computeTree refuses what parseTopology refuses.
 *
 * The deep files are loaded in a child process with a 256 MB heap, built from dist/: before
 * the limits, the yaml parser ended in "Maximum call stack size exceeded" or in a V8 abort
 * (`FATAL ERROR … out of memory`) that kills the process, and a test process cannot survive
 * that in itself. The child prints one JSON line: the error's class and message, its time.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeTree, loadTopologyFile, parseTopology, TopologyError } from '../../components/topology';
import { MAX_TOPOLOGY_BYTES, MAX_TOPOLOGY_DEPTH, MAX_TOPOLOGY_PROBLEMS, nestingDepth } from '../../components/topology/limits';

const ROOT = path.resolve(__dirname, '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-topo-limits-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

/** Loads `file` in a fresh node (256 MB heap) from dist/; what it threw, or its exit when it crashed. */
function loadInChild(file: string): { exit: number | null; signal: string | null; name?: string; message?: string; ms?: number } {
  const script = `
    const { loadTopologyFile } = require(${JSON.stringify(path.join(ROOT, 'dist', 'components', 'topology'))});
    const t0 = Date.now();
    try { loadTopologyFile(process.argv[1]); console.log(JSON.stringify({ name: 'none' })); }
    catch (e) { console.log(JSON.stringify({ name: e.constructor.name, message: e.message, ms: Date.now() - t0 })); }`;
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', '-e', script, file], { encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: { name?: string; message?: string; ms?: number } = {};
  try {
    parsed = JSON.parse(line);
  } catch {
    // crashed: no JSON line
  }
  return { exit: r.status, signal: r.signal, ...parsed };
}

const HEADER = 'nodes:\n  - { id: a, role: root }\n  - { id: b, role: leaf }\nlinks:\n  - { a: a, b: b }\n';

describe('hostile topology files are refused with one TopologyError, the process survives', () => {
  const deep: Array<[string, string]> = [
    ['flow sequences 100,000 deep (200 KB)', `${HEADER}x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`],
    ['flow mappings 40,000 deep', `${HEADER}x: ${'{a: '.repeat(40_000)}1${'}'.repeat(40_000)}\n`],
    ['compact block sequences 50,000 deep', `${HEADER}x:\n  ${'- '.repeat(50_000)}1\n`],
    ['block mappings 600 deep', `${HEADER}x:\n${Array.from({ length: 600 }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`],
  ];
  it.each(deep)('%s: "nested deeper than N", in < 2 s', (name, text) => {
    const r = loadInChild(write(`${name.replace(/\W+/g, '-')}.yaml`, text));
    expect(r.signal).toBeNull();
    expect(r.exit).toBe(0);
    expect(r.name).toBe('TopologyError');
    expect(r.message).toContain(`nested deeper than ${MAX_TOPOLOGY_DEPTH}`);
    expect(r.ms!).toBeLessThan(2000);
  });

  it('a file over the size limit is refused before it is parsed', () => {
    const f = write('huge.yaml', `${HEADER}# ${'x'.repeat(MAX_TOPOLOGY_BYTES)}\n`);
    const t0 = Date.now();
    expect(() => loadTopologyFile(f)).toThrow(new RegExp(`more than ${MAX_TOPOLOGY_BYTES}`));
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('50,000 bad nodes: "more than N problems, first N shown", bounded message', () => {
    const nodes = Array.from({ length: 50_000 }, (_, i) => `- {id: n${i}, role: x}`).join('\n');
    const f = write('many.yaml', `nodes:\n${nodes}\nlinks: []\n`);
    const t0 = Date.now();
    let err: unknown;
    try {
      loadTopologyFile(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TopologyError);
    const te = err as TopologyError;
    expect(te.problems).toHaveLength(MAX_TOPOLOGY_PROBLEMS + 1);
    expect(te.message).toContain(`more than ${MAX_TOPOLOGY_PROBLEMS} problems, first ${MAX_TOPOLOGY_PROBLEMS} shown`);
    expect(te.message.length).toBeLessThan(20_000);
    // The cap bounds the message, not the work: every problem is still found (≈ 5 s idle,
    // 16 s on the loaded 2-core machine); the 2 MiB size limit is what bounds the work.
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('a stack config object nested 100,000 deep is refused by parseTopology (no stack overflow)', () => {
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = { a: v };
    expect(() => parseTopology({ nodes: [], links: [], x: v })).toThrow(`nested deeper than ${MAX_TOPOLOGY_DEPTH}`);
  });

  it('ordinary files measure shallow: every good fixture is well within the depth limit', () => {
    const good = path.join(ROOT, "stacks", "topologies");
    const files = fs.readdirSync(good).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(nestingDepth(fs.readFileSync(path.join(good, f), 'utf8'))).toBeLessThanOrEqual(8);
    // Brackets in quotes and comments are not nesting.
    expect(nestingDepth(`a: "${'['.repeat(200)}"\nb: '${'{'.repeat(200)}'\n# ${'['.repeat(200)}\n`)).toBe(1);
  });
});

describe('computeTree refuses what parseTopology refuses', () => {
  const nodes = [
    { id: 'r', role: 'root' as const },
    { id: 'l', role: 'leaf' as const },
  ];
  it('a self-loop is an error, not a redundancy link', () => {
    const links = [{ a: 'r', b: 'l' }, { a: 'l', b: 'l' }];
    expect(() => parseTopology({ nodes, links })).toThrow(/links\[1\]: links node "l" to itself/);
    expect(() => computeTree({ nodes, links } as unknown as Parameters<typeof computeTree>[0])).toThrow(/links\[1\]: links node "l" to itself/);
  });
  it('a duplicate link (b-a after a-b) is an error', () => {
    const links = [{ a: 'r', b: 'l' }, { a: 'l', b: 'r' }];
    expect(() => parseTopology({ nodes, links })).toThrow(/links\[1\]: duplicate of links\[0\]/);
    expect(() => computeTree({ nodes, links } as unknown as Parameters<typeof computeTree>[0])).toThrow(/links\[1\]: duplicate of links\[0\]/);
  });
});
