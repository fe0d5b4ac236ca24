/**
 * Monitoring and events (DESIGN.md "Monitoring and events"): `vpm status`, `vpm preview
 * --markdown`, `vpm dashboard`, `vpm watch`. The programmatic API of each.
 */
export * from './cpu';
export * from './model';
export * from './parse';
export * from './status';
export { loadStack, modelOf, topologyHint, type LoadedStack } from './stack';
export { selectStack, readStack, applyPulumiEnv, type StackSnapshot, type StateResource } from './pulumi';
export { addMonitorCommands } from './cli';
export { collectPreview, previewMarkdown, renderPreviewMarkdown, type PreviewData } from './preview';
export { startDashboard, type Dashboard, type DashboardOptions } from './dashboard/server';
export { startWatch, triggersReaction, type Watch, type WatchOptions } from './events/watch';
export { Dispatcher, type CallbackStats, type DispatchOptions } from './events/dispatch';
export { VirshEventParser, parseVirshEvents } from './events/virsh-events';
export { OvsdbMonitorParser, parseOvsdbMonitor } from './events/ovsdb-events';
export { RemoteStream, lifelineArgv } from './events/ssh-stream';
export type { VpmEvent, RawEvent, EventSource } from './events/types';
