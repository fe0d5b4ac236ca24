/**
 * Benchmark of the topology engine: computeTree (failed-node removal, pruning, role-weighted
 * Kruskal) on random connected graphs of 1k, 10k and 100k nodes with about 5 links per
 * node. The graphs come from a seeded PRNG, so every run measures the same inputs.
 *
 * Each size: warm-up runs (JIT), then 5 timed runs; prints median/min/max and writes
 * bench/results/topology.json at the repository root. Budget: 10k nodes / 50k links <= 100 ms.
 *
 * Run after `npm run build`: node dist/bench/topology.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot as repoRoot } from '../contracts';
import { computeTree, type Link, type Role, type TopologyNode } from '../components/topology';

const SIZES = [1_000, 10_000, 100_000];
const LINKS_PER_NODE = 5;
const RUNS = 5;
const WARMUPS = 3;
const SEED = 0x5eed;
const BUDGET_MS = { nodes: 10_000, ms: 100 };

/** mulberry32: tiny, fast, good enough to make graphs; seeded so runs compare. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * n nodes, node 0 the root; roles about 60% relay, 30% leaf, 10% none. A random spanning
 * tree (each node hangs on a random earlier one) keeps it connected; random distinct extra
 * links bring it to about LINKS_PER_NODE * n links.
 */
export function randomTopology(n: number, seed: number): { nodes: TopologyNode[]; links: Link[] } {
  const rand = prng(seed);
  const nodes: TopologyNode[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const x = rand();
    const role: Role | undefined = i === 0 ? 'root' : x < 0.6 ? 'relay' : x < 0.9 ? 'leaf' : undefined;
    nodes[i] = { id: `n${i}`, host: `h${i}`, role, failed: false };
  }
  const target = LINKS_PER_NODE * n;
  const seen = new Set<number>();
  const links: Link[] = [];
  const add = (a: number, b: number) => {
    if (a === b) return;
    const key = a < b ? a * n + b : b * n + a;
    if (seen.has(key)) return;
    seen.add(key);
    links.push({ a: nodes[a].id, b: nodes[b].id });
  };
  for (let i = 1; i < n; i++) add(i, Math.floor(rand() * i));
  while (links.length < target) add(Math.floor(rand() * n), Math.floor(rand() * n));
  return { nodes, links };
}

export interface BenchRow {
  nodes: number;
  links: number;
  treeLinks: number;
  redundancyLinks: number;
  pruned: number;
  /** The first call, before the JIT has warmed up: what a single `pulumi up` pays. */
  coldMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

function timeOnce(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function benchSize(n: number): BenchRow {
  const topology = randomTopology(n, SEED + n);
  let result!: ReturnType<typeof computeTree>;
  const coldMs = timeOnce(() => (result = computeTree(topology))); // first call: cold JIT
  for (let i = 0; i < WARMUPS; i++) computeTree(topology); // let the JIT settle
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(timeOnce(() => computeTree(topology)));
  times.sort((a, b) => a - b);
  return {
    nodes: n,
    links: topology.links.length,
    treeLinks: result.tree.length,
    redundancyLinks: result.redundancy.length,
    pruned: result.pruned.length,
    coldMs: round(coldMs),
    medianMs: round(times[Math.floor(RUNS / 2)]),
    minMs: round(times[0]),
    maxMs: round(times[RUNS - 1]),
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

export function main(): BenchRow[] {
  const rows = SIZES.map(benchSize);
  const header = ['nodes', 'links', 'tree', 'redundancy', 'pruned', 'cold ms', 'median ms', 'min ms', 'max ms'];
  const cells = rows.map((r) => [r.nodes, r.links, r.treeLinks, r.redundancyLinks, r.pruned, r.coldMs, r.medianMs, r.minMs, r.maxMs].map(String));
  const width = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const fmt = (c: string[]) => c.map((x, i) => x.padStart(width[i])).join('  ');
  console.log(`computeTree, cold = first call; median/min/max of ${RUNS} runs after ${WARMUPS + 1} warm-ups (node ${process.version})`);
  console.log(fmt(header));
  for (const c of cells) console.log(fmt(c));

  const budgetRow = rows.find((r) => r.nodes === BUDGET_MS.nodes);
  const withinBudget = budgetRow ? budgetRow.medianMs <= BUDGET_MS.ms : undefined;
  if (budgetRow) {
    console.log(`budget: ${BUDGET_MS.nodes} nodes <= ${BUDGET_MS.ms} ms: ${withinBudget ? 'met' : 'MISSED'} (${budgetRow.medianMs} ms)`);
  }

  const outDir = join(repoRoot(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const out = resolve(outDir, 'topology.json');
  const report = {
    benchmark: 'topology.computeTree',
    date: new Date().toISOString(),
    node: process.version,
    seed: SEED,
    runs: RUNS,
    linksPerNode: LINKS_PER_NODE,
    budget: { ...BUDGET_MS, met: withinBudget },
    rows,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${out}`);
  return rows;
}

if (require.main === module) main();
