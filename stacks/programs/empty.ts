/**
 * A program that registers nothing: the engine's fixed cost of an `up` (CLI and engine start,
 * language host, the Pulumi SDK, state read and written) with no resource of ours, measured by
 * bench/up-scaling.ts in the same project, backend and run as VPM's `up` (stack config
 * `vpm:program empty`). Imports nothing of VPM, on purpose.
 */
export default async function program(): Promise<Record<string, unknown>> {
  return {};
}
