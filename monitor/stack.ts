/**
 * Loads what monitor/ needs of a stack: the model (model.ts) from its state and outputs, the
 * topology's drawn roles when the topology file is readable, and the CPU thresholds from its
 * config (`vpm:cpuWarn`, `vpm:cpuCrit`).
 */
import * as path from 'node:path';
import { loadTopologyFile } from '../components/topology';
import { projectRoot as repoRoot } from '../contracts';
import { thresholdsFromConfig, type CpuThresholds } from './cpu';
import { buildModel, type StackModel, type TopologyHint } from './model';
import { checkStackName, openWorkspace, readStack, type StackSnapshot } from './pulumi';

export interface LoadedStack {
  readonly model: StackModel;
  readonly thresholds: CpuThresholds;
  readonly snapshot: StackSnapshot;
}

/** The topology file the stack program reads (stacks/main.ts rules), if it parses. */
export function topologyHint(stack: string, config: Readonly<Record<string, string>>): TopologyHint | undefined {
  const file = path.resolve(repoRoot(), config.topology ?? `stacks/topologies/${stack}.yaml`);
  try {
    return loadTopologyFile(file);
  } catch {
    return undefined;
  }
}

export function modelOf(snapshot: StackSnapshot): StackModel {
  return buildModel(snapshot.stack, snapshot.resources, snapshot.outputs, topologyHint(snapshot.stack, snapshot.config));
}

/** Reads the stack (it must exist and have been deployed). */
export async function loadStack(name: string): Promise<LoadedStack> {
  checkStackName(name);
  const snapshot = await readStack({ workspace: await openWorkspace(name), name });
  if (snapshot.resources.length === 0) throw new Error(`stack ${name} has no resources: run \`npm run -s pulumi -- up --stack ${name}\` first`);
  return { model: modelOf(snapshot), thresholds: thresholdsFromConfig(snapshot.config), snapshot };
}
