/**
 * A real video stream: GStreamer VP8 over RTP (the paper's use case), argv builders and the
 * parser of gst-launch's verbose output. Pipelines (Debian bookworm, GStreamer 1.22,
 * gstreamer1.0-plugins-base/good):
 *
 *   send:   gst-launch-1.0 -v videotestsrc is-live=true num-buffers=N
 *             ! video/x-raw,width=320,height=240,framerate=30/1
 *             ! vp8enc deadline=1 keyframe-max-dist=30 ! identity silent=false
 *             ! rtpvp8pay mtu=1400 ! udpsink host=H port=P
 *           (is-live paces the frames; a key frame every second lets the decoder recover
 *            after a loss; mtu=1400 keeps datagrams under the GRE MTU (GRE adds 38 bytes
 *            and the userspace datapath does not fragment); identity's "chain" line counts
 *            every encoded frame sent)
 *   decode: gst-launch-1.0 -v -e udpsrc port=P caps=application/x-rtp,...,encoding-name=VP8
 *             ! rtpvp8depay ! vp8dec ! fakesink sync=false silent=false
 *           (one "last-message = chain" line per decoded frame; -e turns SIGINT into EOS)
 */
export const GST_LAUNCH = 'gst-launch-1.0';
export const RTP_VP8_CAPS = 'application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96';

export interface GstVideo {
  /** Frames per second; default 30. */
  readonly fps?: number;
  readonly width?: number;
  readonly height?: number;
}

export function gstSenderArgv(o: GstVideo & { host: string; port: number; frames: number }): string[] {
  const fps = o.fps ?? 30;
  return [
    GST_LAUNCH, '-v',
    'videotestsrc', 'is-live=true', `num-buffers=${o.frames}`, 'pattern=ball', '!',
    `video/x-raw,width=${o.width ?? 320},height=${o.height ?? 240},framerate=${fps}/1`, '!',
    'vp8enc', 'deadline=1', `keyframe-max-dist=${fps}`, '!',
    'identity', 'silent=false', '!',
    'rtpvp8pay', 'mtu=1400', '!',
    'udpsink', `host=${o.host}`, `port=${o.port}`, 'sync=true',
  ];
}

export function gstReceiverArgv(port: number): string[] {
  return [
    GST_LAUNCH, '-v', '-e',
    'udpsrc', `port=${port}`, `caps=${RTP_VP8_CAPS}`, 'buffer-size=4194304', '!',
    'rtpvp8depay', '!', 'vp8dec', '!', 'fakesink', 'sync=false', 'silent=false',
  ];
}

/** One frame through an element that prints its last message (identity / fakesink). */
export const GST_FRAME_LINE = /last-message = chain/;
export const GST_PLAYING_LINE = /Setting pipeline to PLAYING/;
