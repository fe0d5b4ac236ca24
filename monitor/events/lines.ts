/**
 * The bounded line splitter of `vpm watch`'s event parsers. It lives with the transport
 * (providers/exec/lines.ts), which splits streamed output the same way; this module keeps
 * the monitor's names for it.
 */
export { LineBuffer, MAX_STREAM_LINE as MAX_EVENT_LINE } from '../../providers/exec';
