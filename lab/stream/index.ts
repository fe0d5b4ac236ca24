/**
 * Test streams through the lab, in one module (used by `vpm stream`, the test suites and the
 * benches):
 *   datagram.ts   the test datagram protocol: wire layout, clock, the scripts' stdin reader
 *   scripts.ts    sender/receiver scripts with progress lines (`vpm stream`, stack suites)
 *   agent.ts      runs such a script inside a namespace and speaks its JSON lines
 *   tree.ts       streams through a deployed tree: from the root's src0 to a receiver
 *                 namespace, numbered datagrams or GStreamer video (gst.ts)
 *   run.ts        the `vpm stream send|watch` commands
 *   measure.ts    sender, receiver (keeps every arrival) and relay scripts in any namespace,
 *                 and the analysis of a receiver's record (integration suites, benches)
 *   gst-netns.ts  GStreamer video between two namespaces, counting decoded frames
 * This barrel is tree.ts's API; measure.ts and gst-netns.ts have types of the same names
 * (SenderStats, ReceiverStats) and are imported by path.
 */
export * from './tree';
export { nowUs } from './datagram';
export { runStreamSend, runStreamWatch } from './run';
