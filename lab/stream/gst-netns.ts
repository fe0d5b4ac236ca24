/**
 * A real video stream between two namespaces, for the integration suites: GStreamer VP8 over
 * RTP sent (to completion) from inside one namespace and decoded inside another, counting
 * decoded frames. (`vpm stream --gst` and the stack suites use gst.ts's pipelines from tree.ts;
 * these are the measuring variants, with the caps and output lines of gst.ts.)
 *
 * Pipelines that work here (Debian bookworm, GStreamer 1.22, gstreamer1.0-plugins-good):
 *   send:    gst-launch-1.0 -q videotestsrc num-buffers=N is-live=true
 *              ! video/x-raw,width=320,height=240,framerate=60/1 ! vp8enc deadline=1
 *              ! rtpvp8pay mtu=1400 ! udpsink host=10.99.0.255 port=5004 bind-address=10.99.0.1
 *            (udpsink sets SO_BROADCAST itself; is-live paces the frames, else the encoder
 *             bursts as fast as it can; mtu=1400 keeps datagrams under the GRE MTU)
 *   decode:  gst-launch-1.0 -v -e udpsrc port=5004
 *              caps=application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96
 *              ! rtpvp8depay ! vp8dec ! fakesink sync=false silent=false
 *            (-v prints fakesink's last-message, one "chain" line per decoded frame, flushed
 *             line by line; -e turns SIGINT into EOS so it exits cleanly; sync=false: no
 *             frame is dropped for lateness)
 */
import { spawn, spawnSync } from 'node:child_process';
import { GST_FRAME_LINE, GST_LAUNCH, GST_PLAYING_LINE, RTP_VP8_CAPS } from './gst';

/** The elements these pipelines use, and the Debian package of each. */
export const GST_ELEMENTS: Readonly<Record<string, string>> = {
  videotestsrc: 'gstreamer1.0-plugins-base',
  fakesink: 'gstreamer1.0-tools',
  vp8enc: 'gstreamer1.0-plugins-good',
  vp8dec: 'gstreamer1.0-plugins-good',
  rtpvp8pay: 'gstreamer1.0-plugins-good',
  rtpvp8depay: 'gstreamer1.0-plugins-good',
  udpsink: 'gstreamer1.0-plugins-good',
  udpsrc: 'gstreamer1.0-plugins-good',
};

/** Throws, naming the packages to install, unless gst-launch-1.0 and every element are there. */
export function requireGstElements(): void {
  const missing: string[] = [];
  for (const [element, pkg] of Object.entries(GST_ELEMENTS)) {
    const r = spawnSync('gst-inspect-1.0', ['--exists', element], { stdio: 'ignore' });
    if (r.error) throw new Error(`'gst-inspect-1.0' is not installed: run \`npm run setup\` (Debian package gstreamer1.0-tools)`);
    if (r.status !== 0) missing.push(`${element} (${pkg})`);
  }
  if (missing.length) throw new Error(`GStreamer elements missing: ${missing.join(', ')}: run \`npm run setup\``);
}

export interface GstSendOptions {
  host: string;
  port: number;
  bindAddress?: string;
  frames: number;
  fps?: number;
  width?: number;
  height?: number;
}

/** Runs the VP8/RTP sender to completion inside `netns`. */
export function gstSendVp8(netns: string, o: GstSendOptions): Promise<{ elapsedMs: number }> {
  const argv = [
    'netns', 'exec', netns, GST_LAUNCH, '-q',
    'videotestsrc', `num-buffers=${o.frames}`, 'is-live=true', '!',
    `video/x-raw,width=${o.width ?? 320},height=${o.height ?? 240},framerate=${o.fps ?? 60}/1`, '!',
    'vp8enc', 'deadline=1', '!',
    'rtpvp8pay', 'mtu=1400', '!',
    'udpsink', `host=${o.host}`, `port=${o.port}`, ...(o.bindAddress ? [`bind-address=${o.bindAddress}`] : []),
  ];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    child.stdout.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000 + (o.frames / (o.fps ?? 60)) * 2000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ elapsedMs: Date.now() - t0 });
      else reject(new Error(`gst-launch-1.0 (sender in ${netns}) exited ${code ?? signal}: ${err.trim()}`));
    });
  });
}

export interface FrameCounter {
  /** Resolves once the pipeline is PLAYING (its socket is bound). */
  readonly ready: Promise<void>;
  /** Frames decoded so far. */
  frames(): number;
  /** Waits until no frame came for `quietMs`, stops the pipeline (EOS), returns the frame count. */
  stop(quietMs: number): Promise<number>;
}

/** Starts the RTP/VP8 decoder inside `netns`, counting decoded frames. */
export function countDecodedFrames(netns: string, port: number): FrameCounter {
  const child = spawn(
    'ip',
    [
      'netns', 'exec', netns, GST_LAUNCH, '-v', '-e',
      'udpsrc', `port=${port}`, `caps=${RTP_VP8_CAPS}`, '!',
      'rtpvp8depay', '!', 'vp8dec', '!', 'fakesink', 'sync=false', 'silent=false',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let frames = 0;
  let lastFrameAt = Date.now();
  let pending = '';
  let log = '';
  let exited = false;
  const onExit: Array<() => void> = [];
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const readyTimer = setTimeout(() => failReady(new Error(`GStreamer decoder in ${netns} not PLAYING after 10 s: ${log.slice(-2000)}`)), 10_000);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) {
      if (GST_FRAME_LINE.test(l)) {
        frames++;
        lastFrameAt = Date.now();
      } else {
        log += l + '\n';
        if (GST_PLAYING_LINE.test(l)) {
          clearTimeout(readyTimer);
          markReady();
        }
      }
    }
  });
  child.stderr.on('data', (d) => (log += String(d)));
  child.on('exit', () => {
    exited = true;
    clearTimeout(readyTimer);
    failReady(new Error(`GStreamer decoder in ${netns} exited: ${log.slice(-2000)}`));
    for (const f of onExit.splice(0)) f();
  });
  return {
    ready,
    frames: () => frames,
    async stop(quietMs: number): Promise<number> {
      while (!exited && Date.now() - lastFrameAt < quietMs) await new Promise((r) => setTimeout(r, 50));
      if (!exited) {
        const gone = new Promise<void>((r) => onExit.push(r));
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(timer);
      }
      return frames;
    },
  };
}
