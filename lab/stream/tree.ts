/**
 * Test streams through a streaming tree on the lab (`vpm stream send|watch`, and the
 * programmatic API for tests and benches).
 *
 * Sender: runs in the ROOT hypervisor's namespace and sends from the root's source port
 * `src0` (the StreamingTree creates it on the root's overlay bridge). It first makes sure
 * src0 has the overlay source address 10.99.0.1/16 and is up (idempotent), then either
 *   - numbered UDP datagrams (see stream/scripts.ts) to the overlay broadcast 10.99.255.255, or
 *   - (gst) a VP8/RTP video from gst-launch-1.0 (stream/gst.ts) to a fake unicast 10.99.0.254,
 *     for which a permanent neighbour entry is added on src0: udpsink wants an address it can
 *     resolve; the overlay forwards by rules (in_port + UDP port), never by addresses.
 * Receiver: runs in a receiver namespace (r1, r2, ...) on the stream's UDP port and counts
 * packets, unique sequence numbers, duplicates, losses and the longest gap; or (gst) decodes
 * the video and counts frames.
 *
 * Which hypervisor is the root, in this order:
 *   1. `root: 'hK'` (CLI --root) when given;
 *   2. with `stack`: the root node's host in that stack's topology, the same file the stack
 *      program uses (config `vpm:topology` in the stack's Pulumi.<stack>.yaml, in the
 *      project's stackConfigDir (stacks/), else stacks/topologies/<stack>.yaml); that host
 *      must have src0 (else: the stack is not up);
 *   3. otherwise the deployed truth: the one hypervisor whose namespace has the src0 port.
 *      None or several is an error that says to pass --stack or --root.
 * The inventory: `inventory` (object), else `inventoryFile` (CLI --inventory), else the
 * stack's config `vpm:inventory` when a stack is named, else the lab's default
 * ($VPM_LAB_DIR/inventory.json or .lab/inventory.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadTopologyFile } from '../../components/topology';
import { OVERLAY_PREFIX, SOURCE_IP, SOURCE_PORT_NAME } from '../../components/streaming-tree/ports';
import { LabError, messageOf } from '../errors';
import { readInventory, type Inventory, type InventoryHypervisor, type InventoryReceiver } from '../inventory';
import { LabSite, repoRoot } from '../names';
import { sh } from '../sh';
import { which } from '../tools';
import { StreamAgent, type AgentLine } from './agent';
import { RECEIVER_SCRIPT, SENDER_SCRIPT } from './scripts';
import { GST_FRAME_LINE, GST_LAUNCH, GST_PLAYING_LINE, gstReceiverArgv, gstSenderArgv, type GstVideo } from './gst';

export { STREAM_MAGIC, STREAM_HEADER_BYTES } from './scripts';
export type { GstVideo } from './gst';

export const DEFAULT_STREAM_PORT = 5004;
/** Where numbered datagrams go: the overlay's broadcast address (10.99.255.255). */
export const OVERLAY_BROADCAST = broadcastOf(SOURCE_IP, OVERLAY_PREFIX);
/** gst's destination: a unicast address nobody has, resolved by a permanent neighbour entry. */
export const GST_FAKE_DESTINATION = '10.99.0.254';
export const GST_FAKE_MAC = '02:56:56:00:00:fe';

function broadcastOf(ip: string, prefix: number): string {
  const n = ip.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
  const b = (n | (prefix === 0 ? 0xffffffff : (1 << (32 - prefix)) - 1)) >>> 0;
  return [24, 16, 8, 0].map((s) => (b >>> s) & 0xff).join('.');
}

// ---------------------------------------------------------------------------------------------
// Where: inventory, root hypervisor, receiver

export interface StreamLabOptions {
  /** The lab inventory itself (tests). */
  readonly inventory?: Inventory;
  /** An inventory file (CLI --inventory). */
  readonly inventoryFile?: string;
  /** A stack of this project: its topology names the root (and its config may name the inventory). */
  readonly stack?: string;
  /** The root hypervisor, explicitly (e.g. "h1"). */
  readonly root?: string;
}

const STACK_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

function readYaml(file: string): unknown {
  try {
    return parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LabError(`cannot read ${file}: ${messageOf(e)}`);
  }
}

/** Where the project keeps Pulumi.<stack>.yaml: Pulumi.yaml's `stackConfigDir`, else the project dir. */
export function stackConfigFile(stack: string, projectDir: string = repoRoot()): string {
  if (!STACK_RE.test(stack)) throw new LabError(`bad stack name ${JSON.stringify(stack)}`);
  const project = fs.existsSync(path.join(projectDir, 'Pulumi.yaml')) ? readYaml(path.join(projectDir, 'Pulumi.yaml')) : undefined;
  const dir = (project as { stackConfigDir?: unknown } | undefined)?.stackConfigDir;
  return path.join(projectDir, typeof dir === 'string' && dir ? dir : '.', `Pulumi.${stack}.yaml`);
}

/** The stack's config as written in its Pulumi.<stack>.yaml (plain values only). */
export function stackConfig(stack: string, projectDir: string = repoRoot()): Record<string, unknown> {
  const file = stackConfigFile(stack, projectDir);
  if (!fs.existsSync(file)) return {};
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LabError(`cannot read the stack config ${file}: ${messageOf(e)}`);
  }
  const config = (doc as { config?: Record<string, unknown> } | null)?.config ?? {};
  return config && typeof config === 'object' ? config : {};
}

/** The topology file a stack's program uses (mirrors stacks/main.ts). */
export function stackTopologyFile(stack: string, projectDir: string = repoRoot()): string {
  const configured = stackConfig(stack, projectDir)['vpm:topology'];
  const rel = typeof configured === 'string' && configured ? configured : `stacks/topologies/${stack}.yaml`;
  return path.resolve(projectDir, rel);
}

function loadInventory(o: StreamLabOptions): Inventory {
  if (o.inventory) return o.inventory;
  if (o.inventoryFile) return readInventory(path.resolve(o.inventoryFile));
  if (o.stack) {
    const configured = stackConfig(o.stack)['vpm:inventory'];
    if (typeof configured === 'string' && configured) return readInventory(path.resolve(repoRoot(), configured));
    return readInventory(LabSite.deployedOn(o.stack).paths.inventory);
  }
  return readInventory();
}

function ipTool(): string {
  const ip = which('ip');
  if (!ip) throw new LabError("'ip' is not available: run `npm run setup` (Debian package iproute2)");
  return ip;
}

async function hasSourcePort(h: InventoryHypervisor): Promise<boolean> {
  const r = await sh([ipTool(), '-n', h.netns, 'link', 'show', 'dev', SOURCE_PORT_NAME], { okCodes: 'any', where: h.netns, timeoutMs: 10_000 });
  return r.code === 0;
}

export interface StreamRoot {
  readonly inventory: Inventory;
  readonly root: InventoryHypervisor;
  /** How the root was found (for messages). */
  readonly how: string;
}

/** Finds the root hypervisor (see the module comment for the order). */
export async function resolveRoot(o: StreamLabOptions = {}): Promise<StreamRoot> {
  const inventory = loadInventory(o);
  const byName = (name: string, what: string): InventoryHypervisor => {
    const h = inventory.hypervisors.find((x) => x.name === name);
    if (!h) throw new LabError(`${what} "${name}" is not a hypervisor of the lab (it has ${inventory.hypervisors.map((x) => x.name).join(', ')})`);
    return h;
  };
  let root: InventoryHypervisor;
  let how: string;
  if (o.root) {
    root = byName(o.root, 'root');
    how = 'given';
  } else if (o.stack) {
    const file = stackTopologyFile(o.stack);
    const topology = loadTopologyFile(file);
    const node = topology.nodes.find((n) => n.role === 'root');
    if (!node) throw new LabError(`the topology ${file} of stack ${o.stack} has no root node`);
    root = byName(node.host, `root host of stack ${o.stack}`);
    how = `stack ${o.stack}: root node ${node.id} on ${node.host} (${path.relative(repoRoot(), file) || file})`;
  } else {
    const found = (await Promise.all(inventory.hypervisors.map(async (h) => ((await hasSourcePort(h)) ? h : undefined)))).filter(
      (h): h is InventoryHypervisor => h !== undefined,
    );
    if (found.length !== 1) {
      throw new LabError(
        found.length === 0
          ? `no hypervisor has the source port ${SOURCE_PORT_NAME}: is a streaming tree up? (\`npm run pulumi -- up --stack lab\`), or name it with --stack / --root`
          : `several hypervisors have a source port ${SOURCE_PORT_NAME} (${found.map((h) => h.name).join(', ')}); say which with --stack or --root`,
      );
    }
    root = found[0];
    how = `the hypervisor with ${SOURCE_PORT_NAME}`;
  }
  if (!(await hasSourcePort(root))) {
    throw new LabError(
      `${root.name} (the root: ${how}) has no source port ${SOURCE_PORT_NAME}: the tree is not up there; run \`npm run pulumi -- up --stack ${o.stack ?? 'lab'}\``,
    );
  }
  return { inventory, root, how };
}

function findReceiver(inventory: Inventory, name: string): InventoryReceiver {
  const r = inventory.receivers.find((x) => x.name === name);
  if (!r) {
    throw new LabError(
      `no receiver "${name}" in the lab (it has ${inventory.receivers.map((x) => x.name).join(', ') || 'none'}); ` +
        'build the lab with `npx vpm lab up --receivers N`',
    );
  }
  return r;
}

/**
 * Gives src0 (in the root's namespace) the overlay source address and brings it up; with
 * `gst`, also the permanent neighbour for the fake unicast destination. Idempotent.
 */
export async function prepareSource(root: InventoryHypervisor, opts: { gst?: boolean } = {}): Promise<void> {
  const ip = ipTool();
  const lines = [`addr replace ${SOURCE_IP}/${OVERLAY_PREFIX} dev ${SOURCE_PORT_NAME}`, `link set ${SOURCE_PORT_NAME} up`];
  if (opts.gst) lines.push(`neigh replace ${GST_FAKE_DESTINATION} lladdr ${GST_FAKE_MAC} dev ${SOURCE_PORT_NAME} nud permanent`);
  try {
    await sh([ip, '-n', root.netns, '-batch', '-'], { input: lines.join('\n') + '\n', where: root.netns });
  } catch (e) {
    throw new LabError(`cannot prepare ${SOURCE_PORT_NAME} on ${root.name}: ${messageOf(e)}`);
  }
  // A namespace kernel sending into OVS leaves partial checksums unless tx offload is off (LAB-NOTES).
  const ethtool = which('ethtool');
  if (ethtool) {
    await sh([ip, 'netns', 'exec', root.netns, ethtool, '-K', SOURCE_PORT_NAME, 'tx', 'off'], { okCodes: 'any', where: root.netns });
  }
}

function requireGst(): void {
  if (!which(GST_LAUNCH)) {
    throw new LabError(`'${GST_LAUNCH}' is not installed: run \`npm run setup\` (Debian packages gstreamer1.0-tools, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good)`);
  }
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LabError(`port must be an integer in 1..65535, got ${port}`);
  return port;
}

// ---------------------------------------------------------------------------------------------
// Sender

export interface SenderOptions extends StreamLabOptions {
  /** UDP destination port; default 5004. */
  readonly port?: number;
  /** Datagrams per second (numbered stream); default 1000. */
  readonly rate?: number;
  /** Send for this long (rate × seconds datagrams, or fps × seconds frames); default: until stop(). */
  readonly seconds?: number;
  /** Exactly this many datagrams (numbered stream); wins over `seconds`. */
  readonly count?: number;
  /** Datagram size in bytes (>= 16); default 200. */
  readonly size?: number;
  /** A VP8/RTP video instead of numbered datagrams (needs `seconds`). */
  readonly gst?: boolean | GstVideo;
  /** Called about once a second. */
  readonly onProgress?: (p: SenderStats) => void;
}

export interface SenderStats {
  readonly mode: 'udp' | 'gst';
  readonly root: string;
  readonly destination: string;
  readonly port: number;
  /** Datagrams (udp) or encoded frames (gst) sent so far. */
  readonly sent: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** gst: frames sent (= sent). */
  readonly frames?: number;
  /** True once the sender has ended. */
  readonly finished: boolean;
}

export interface SenderHandle {
  readonly root: InventoryHypervisor;
  readonly inventory: Inventory;
  readonly destination: string;
  readonly port: number;
  /** Resolves when the stream has been sent entirely (a bounded stream) or stop() ended it. */
  readonly done: Promise<SenderStats>;
  stats(): Promise<SenderStats>;
  /** Ends the stream and returns the final figures (repeatable). */
  stop(): Promise<SenderStats>;
}

/** Starts a stream at the root's src0 (see the module comment). */
export async function startSender(o: SenderOptions = {}): Promise<SenderHandle> {
  const port = checkPort(o.port ?? DEFAULT_STREAM_PORT);
  const { inventory, root } = await resolveRoot(o);
  const gst = o.gst ? (o.gst === true ? {} : o.gst) : undefined;
  if (gst) requireGst();
  await prepareSource(root, { gst: Boolean(gst) });
  return gst ? startGstSender(inventory, root, port, gst, o) : startUdpSender(inventory, root, port, o);
}

async function startUdpSender(inventory: Inventory, root: InventoryHypervisor, port: number, o: SenderOptions): Promise<SenderHandle> {
  const rate = o.rate ?? 1000;
  if (!(rate > 0 && rate <= 200_000)) throw new LabError(`rate must be in (0, 200000] datagrams/s, got ${rate}`);
  const count = o.count ?? (o.seconds !== undefined ? Math.round(rate * o.seconds) : 0);
  if (!Number.isInteger(count) || count < 0) throw new LabError(`count must be a whole number >= 0, got ${count}`);
  const size = o.size ?? 200;
  if (!Number.isInteger(size) || size < 16 || size > 1400) throw new LabError(`size must be an integer in 16..1400 (under the overlay MTU), got ${size}`);
  const destination = OVERLAY_BROADCAST;
  const cfg = { ip: destination, port, rate, count, size, bindIp: SOURCE_IP, progressMs: o.onProgress ? 1000 : 0 };
  const agent = new StreamAgent(`sender ${root.name}->${destination}:${port}`, root.netns, [process.execPath, '-e', SENDER_SCRIPT, JSON.stringify(cfg)]);
  const t0 = Date.now();
  const toStats = (l: AgentLine, finished: boolean): SenderStats => ({
    mode: 'udp',
    root: root.name,
    destination,
    port,
    sent: Number(l.sent ?? 0),
    errors: Number(l.errors ?? 0),
    elapsedMs: Number(l.elapsedMs ?? Date.now() - t0),
    finished,
  });
  if (o.onProgress) agent.onLine((l) => l.type === 'progress' && o.onProgress!(toStats(l, false)));
  await agent.next('ready').catch((e) => {
    agent.kill();
    throw e;
  });
  let final: SenderStats | undefined;
  const done = agent.next('final', 0).then(async (l) => {
    final = toStats(l, true);
    await agent.waitExit(5000);
    return final;
  });
  done.catch(() => {}); // stop() reports the failure
  return {
    root,
    inventory,
    destination,
    port,
    done,
    async stats() {
      if (final) return final;
      return toStats(await agent.request('stats', 'stats'), false);
    },
    async stop() {
      if (final) return final;
      if (agent.exited) return done;
      agent.send('stop');
      return done;
    },
  };
}

async function startGstSender(inventory: Inventory, root: InventoryHypervisor, port: number, video: GstVideo, o: SenderOptions): Promise<SenderHandle> {
  const fps = video.fps ?? 30;
  if (o.seconds === undefined || !(o.seconds > 0)) throw new LabError('a gst stream needs a duration (seconds > 0)');
  const frames = Math.round(fps * o.seconds);
  const destination = GST_FAKE_DESTINATION;
  const agent = new StreamAgent(`gst sender ${root.name}->${destination}:${port}`, root.netns, gstSenderArgv({ ...video, host: destination, port, frames }), { stdin: 'ignore' });
  let sent = 0;
  let playing = false;
  const t0 = Date.now();
  agent.onRaw((line) => {
    if (GST_FRAME_LINE.test(line)) sent++;
    else if (GST_PLAYING_LINE.test(line)) playing = true;
  });
  const stats = (finished: boolean): SenderStats => ({ mode: 'gst', root: root.name, destination, port, sent, frames: sent, errors: 0, elapsedMs: Date.now() - t0, finished });
  const progress = o.onProgress ? setInterval(() => o.onProgress!(stats(false)), 1000) : undefined;
  let stopping = false;
  const done = (async () => {
    await agent.waitExit(0);
    if (progress) clearInterval(progress);
    const ex = agent.exited;
    if (!stopping && ex && ex.code !== 0) {
      throw new LabError(`${GST_LAUNCH} (sender in ${root.netns}) failed (${ex.signal ?? `exit ${ex.code}`}): ${agent.stderr.trim().slice(-1500)}`);
    }
    return stats(true);
  })();
  done.catch(() => {});
  // Fail early when the pipeline cannot start (missing plugin, bad caps).
  const deadline = Date.now() + 10_000;
  while (!playing && !agent.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (!playing) {
    if (!agent.exited) agent.kill();
    await done; // throws with gst's message when it failed
    throw new LabError(`${GST_LAUNCH} (sender in ${root.netns}) did not start within 10 s: ${agent.stderr.trim().slice(-1500)}`);
  }
  return {
    root,
    inventory,
    destination,
    port,
    done,
    async stats() {
      return stats(Boolean(agent.exited));
    },
    async stop() {
      if (!agent.exited) {
        stopping = true;
        agent.signal('SIGINT');
        await agent.waitExit(5000);
      }
      return done;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Receiver

export interface ReceiverOptions extends Omit<StreamLabOptions, 'root' | 'stack'> {
  /** Accepted for symmetry with the sender (its config may name the inventory). */
  readonly stack?: string;
  /** Receiver name; default "r1". */
  readonly receiver?: string;
  readonly port?: number;
  /** Decode a VP8/RTP video and count frames instead of numbered datagrams. */
  readonly gst?: boolean;
  /** Called about once a second. */
  readonly onProgress?: (p: ReceiverProgress) => void;
  /** Gaps at least this long are listed in the stats (`gaps`); default 20 ms (gst: 100 ms). */
  readonly gapLogMs?: number;
}

export interface ReceiverProgress {
  readonly elapsedMs: number;
  readonly received: number;
  readonly unique: number;
  readonly lost: number;
  readonly maxGapMs: number;
  /** Packets (or frames) in the last second. */
  readonly intervalPackets: number;
  readonly intervalMaxGapMs: number;
}

export interface ReceiverStats {
  readonly mode: 'udp' | 'gst';
  readonly receiver: string;
  readonly port: number;
  /** Datagrams received (udp), frames decoded (gst). */
  readonly received: number;
  /** Distinct sequence numbers (udp); frames (gst). */
  readonly unique: number;
  readonly duplicates: number;
  /**
   * Sequence numbers never received, counted from the first one received (firstSeq: a stream
   * started before its path was ready is not charged for that): with `expected` (what the
   * sender sent) up to expected-1, else up to the highest seen. gst: frames sent - decoded.
   */
  readonly lost: number;
  readonly expected?: number;
  /** Longest time between two new sequence numbers (udp) or two decoded frames (gst), ms. */
  readonly maxGapMs: number;
  /** The highest sequence number seen before the longest gap (udp). */
  readonly maxGapAfterSeq?: number | null;
  /** Gaps at least `gapLogMs` long: when (ms since start), how long, the sequence number after it. */
  readonly gaps?: { atMs: number; ms: number; beforeSeq: number }[];
  readonly firstSeq?: number | null;
  readonly lastSeq?: number | null;
  readonly reordered?: number;
  readonly foreign?: number;
  readonly frames?: number;
  readonly elapsedMs: number;
  /** Milliseconds since the last arrival. */
  readonly idleMs: number;
}

export interface ReceiverHandle {
  readonly receiver: InventoryReceiver;
  readonly port: number;
  stats(expected?: number): Promise<ReceiverStats>;
  /** Distinct sequence numbers received in from..to-1 (udp; gst: frames decoded in all). */
  countRange(from: number, to: number): Promise<number>;
  /** Waits until at least `n` new sequence numbers (frames) arrived; throws after timeoutMs. */
  waitFor(n: number, timeoutMs: number): Promise<ReceiverStats>;
  /**
   * Ends the receiver and returns the final figures. `expected`: what the sender sent (for
   * `lost`); `quietMs`: first wait until nothing arrived for that long (at most 10 s).
   */
  stop(opts?: { expected?: number; quietMs?: number }): Promise<ReceiverStats>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts counting a stream in a receiver's namespace. */
export async function startReceiver(o: ReceiverOptions = {}): Promise<ReceiverHandle> {
  const port = checkPort(o.port ?? DEFAULT_STREAM_PORT);
  const inventory = loadInventory(o);
  const receiver = findReceiver(inventory, o.receiver ?? 'r1');
  if (o.gst) {
    requireGst();
    return startGstReceiver(receiver, port, o);
  }
  const cfg = { port, progressMs: o.onProgress ? 1000 : 0, gapLogMs: o.gapLogMs ?? 20 };
  const agent = new StreamAgent(`receiver ${receiver.name}:${port}`, receiver.netns, [process.execPath, '-e', RECEIVER_SCRIPT, JSON.stringify(cfg)]);
  const toStats = (l: AgentLine): ReceiverStats => {
    const { type: _t, ...rest } = l;
    return { mode: 'udp', receiver: receiver.name, port, ...(rest as unknown as Omit<ReceiverStats, 'mode' | 'receiver' | 'port'>) };
  };
  if (o.onProgress) agent.onLine((l) => l.type === 'progress' && o.onProgress!(l as unknown as ReceiverProgress));
  await agent.next('ready').catch((e) => {
    agent.kill();
    throw e;
  });
  let final: ReceiverStats | undefined;
  const stats = async (expected?: number) => toStats(await agent.request(expected === undefined ? 'stats' : `stats ${expected}`, 'stats'));
  return {
    receiver,
    port,
    stats: (expected?: number) => (final ? Promise.resolve(final) : stats(expected)),
    async countRange(from, to) {
      if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from) throw new LabError(`bad sequence range ${from}..${to}`);
      return Number((await agent.request(`range ${from} ${to}`, 'range')).unique);
    },
    async waitFor(n, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await stats();
        if (s.unique >= n) return s;
        if (Date.now() > deadline) {
          throw new LabError(`${receiver.name}:${port}: ${s.unique} datagrams after ${timeoutMs} ms, expected at least ${n} (is the path up, the VM relaying?)`);
        }
        await sleep(20);
      }
    },
    async stop(opts = {}) {
      if (final) return final;
      if (opts.quietMs) {
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && (await stats()).idleMs < opts.quietMs) await sleep(Math.min(50, opts.quietMs / 4));
      }
      const l = await agent.request(opts.expected === undefined ? 'stop' : `stop ${opts.expected}`, 'final');
      await agent.waitExit(5000);
      final = toStats(l);
      return final;
    },
  };
}

async function startGstReceiver(receiver: InventoryReceiver, port: number, o: ReceiverOptions): Promise<ReceiverHandle> {
  const agent = new StreamAgent(`gst receiver ${receiver.name}:${port}`, receiver.netns, gstReceiverArgv(port), { stdin: 'ignore' });
  const t0 = Date.now();
  let frames = 0;
  let lastFrame = 0;
  let maxGap = 0;
  let intervalFrames = 0;
  let intervalMaxGap = 0;
  let playing = false;
  const gapLogMs = o.gapLogMs ?? 100; // frames come every ~33 ms
  const gaps: { atMs: number; ms: number; beforeSeq: number }[] = [];
  agent.onRaw((line) => {
    if (GST_FRAME_LINE.test(line)) {
      const t = Date.now();
      if (lastFrame) {
        const g = t - lastFrame;
        maxGap = Math.max(maxGap, g);
        intervalMaxGap = Math.max(intervalMaxGap, g);
        if (g >= gapLogMs && gaps.length < 200) gaps.push({ atMs: t - t0, ms: g, beforeSeq: frames });
      }
      lastFrame = t;
      frames++;
      intervalFrames++;
    } else if (GST_PLAYING_LINE.test(line)) playing = true;
  });
  const stats = (expected?: number): ReceiverStats => ({
    mode: 'gst',
    receiver: receiver.name,
    port,
    received: frames,
    unique: frames,
    frames,
    duplicates: 0,
    lost: expected !== undefined ? Math.max(0, expected - frames) : 0,
    ...(expected !== undefined ? { expected } : {}),
    maxGapMs: maxGap,
    gaps,
    elapsedMs: Date.now() - t0,
    idleMs: Date.now() - (lastFrame || t0),
  });
  const progress = o.onProgress
    ? setInterval(() => {
        const s = stats();
        o.onProgress!({ elapsedMs: s.elapsedMs, received: frames, unique: frames, lost: 0, maxGapMs: maxGap, intervalPackets: intervalFrames, intervalMaxGapMs: intervalMaxGap });
        intervalFrames = 0;
        intervalMaxGap = 0;
      }, 1000)
    : undefined;
  const deadline = Date.now() + 10_000;
  while (!playing && !agent.exited && Date.now() < deadline) await sleep(20);
  if (!playing) {
    if (progress) clearInterval(progress);
    agent.kill();
    await agent.waitExit(2000);
    throw new LabError(`${GST_LAUNCH} (decoder in ${receiver.netns}) did not start: ${agent.stderr.trim().slice(-1500) || '(no output)'}`);
  }
  let final: ReceiverStats | undefined;
  return {
    receiver,
    port,
    stats: async (expected?: number) => final ?? stats(expected),
    countRange: async () => frames,
    async waitFor(n, timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (frames < n) {
        if (agent.exited) throw new LabError(`${GST_LAUNCH} (decoder in ${receiver.netns}) ended: ${agent.stderr.trim().slice(-1500)}`);
        if (Date.now() > end) throw new LabError(`${receiver.name}:${port}: ${frames} frames decoded after ${timeoutMs} ms, expected at least ${n}`);
        await sleep(20);
      }
      return stats();
    },
    async stop(opts = {}) {
      if (final) return final;
      if (opts.quietMs) {
        const end = Date.now() + 10_000;
        while (Date.now() < end && Date.now() - (lastFrame || t0) < opts.quietMs) await sleep(20);
      }
      if (progress) clearInterval(progress);
      if (!agent.exited) {
        agent.signal('SIGINT'); // -e: EOS, the decoder drains and exits
        await agent.waitExit(5000);
      }
      final = stats(opts.expected);
      return final;
    },
  };
}
