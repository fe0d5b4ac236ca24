/**
 * One home for the contracts between VPM's modules: the names, ids and layouts that one
 * module makes and another reads back (from Pulumi state, from a switch, from a preview).
 * Whoever reads one imports it from here instead of matching a pattern of its own.
 *
 *   names.ts     StreamingTree's child resource names (<tree>-bridge-<node>, ...) and parsers
 *   root.ts      the package root and a Pulumi program's project folder
 *   outputs.ts   typed readers of each resource's state (its outputs in `pulumi stack export`,
 *                a step's inputs in the engine's events)
 * and, re-exported from where the providers need them:
 *   fnv1a32                     the hash ids and port numbers derive from (providers/common/hash.ts)
 *   UNKNOWN, isUnknown, ...     Pulumi's unknown sentinel during preview (providers/common/check.ts)
 *   MARKER_TABLE, ...           FlowPath's table layout: shared flows and ownership markers
 *                               (providers/flow-path/marker-table.ts)
 *
 * Why a top-level folder and not components/streaming-tree/names.ts: the readers are monitor/
 * and lab/ as much as the component, and some contracts belong to the providers. Layering:
 * providers/ import nothing above them, so what a provider needs is defined under providers/
 * and only re-exported here; this folder imports only from providers/; components/, monitor/,
 * lab/, stacks/ and bench/ import from it.
 */
export * from './names';
export * from './root';
export * from './outputs';
export { fnv1a32 } from '../providers/common/hash';
export { UNKNOWN, isUnknown, containsUnknown } from '../providers/common/check';
export {
  MARKER_TABLE,
  PATH_PRIORITY,
  BACKUP_PRIORITY,
  SHARED_COOKIE_BASE,
  sharedCookieText,
  parseMarkers,
  cookiesEqual,
  type MarkerKey,
} from '../providers/flow-path/marker-table';
