/**
 * The events `vpm watch` POSTs to callbacks: one JSON object per event, version 1.
 *
 *   common    version, id (unique), seq (per watch process), stack, host, nodes (the tree nodes
 *             on that host), source, type, at (when it happened: the host's timestamp when it
 *             gives one, else when it was received), receivedAt
 *   libvirt   type "domain.<event>" (domain.lifecycle, domain.reboot, domain.job-completed,
 *             domain.migration-iteration, ...), domain, managed (a VM of this stack), for
 *             lifecycle: event (Started, Stopped, Suspended, Resumed, Defined, Undefined,
 *             Shutdown, PMSuspended, Crashed) and detail (Booted, Destroyed, Migrated, ...);
 *             other events: detail (the text after the colon) and/or fields (key: value lines)
 *   ovsdb     type "interface.insert" | "interface.delete" | "interface.modify", interface
 *             (its name), row (uuid), values (the watched columns now, or last seen for a
 *             delete), changes (for modify: column -> {old, new})
 *   vpm       type "host.online" | "host.offline" (the event stream of a host connected or
 *             dropped; error says why), "reaction.started" | "reaction.finished" |
 *             "reaction.failed" (--react: up --refresh; trigger names the events, changes
 *             the update's change summary, ms its duration; error for a failure)
 */

export const EVENT_VERSION = 1;

export type EventSource = 'libvirt' | 'ovsdb' | 'vpm';

/** What a parser extracts from a host's output (before the watcher adds the common fields). */
export interface RawEvent {
  readonly source: EventSource;
  readonly type: string;
  /** ISO time from the host, when it printed one. */
  readonly at?: string;
  readonly [key: string]: unknown;
}

export interface VpmEvent extends RawEvent {
  readonly version: typeof EVENT_VERSION;
  readonly id: string;
  readonly seq: number;
  readonly stack: string;
  readonly host?: string;
  readonly nodes?: readonly string[];
  readonly at: string;
  readonly receivedAt: string;
}
