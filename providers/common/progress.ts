/**
 * Progress lines from a provider to the `pulumi up` output, for steps that take long (a live
 * migration). Why a module of its own: the SDK gives dynamic providers no engine handle, but
 * the dynamic-provider process is started with the engine's address as its one argument
 * (@pulumi/pulumi cmd/dynamic-provider: `main(process.argv.slice(2))`), and the engine's Log
 * RPC is what `pulumi.log.info` uses in a program. Lines carry no URN (the provider is not
 * told which resource it serves), so each names its subject itself, e.g. "leafvm: ...".
 * Outside a provider process (unit tests, scripts) lines go to the given fallback sink.
 */

/** Where progress lines go. */
export interface ProgressSink {
  info(message: string): void;
}

/** The engine's address, when this process is a dynamic-provider process (else undefined). */
export function engineAddress(argv: readonly string[] = process.argv): string | undefined {
  const script = argv[1] ?? '';
  const addr = argv[2] ?? '';
  if (!/cmd[\\/]dynamic-provider/.test(script)) return undefined;
  return /^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/.test(addr) ? addr : undefined;
}

let engineSink: ProgressSink | undefined;

/** Sends info lines to the engine over its Log RPC; failures never fail the step. */
function engineLogSink(address: string): ProgressSink {
  // Loaded from the @pulumi/pulumi that runs this provider (a peer dependency).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const grpc = require('@grpc/grpc-js');
  const engrpc = require('@pulumi/pulumi/proto/engine_grpc_pb');
  const engproto = require('@pulumi/pulumi/proto/engine_pb');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client = new engrpc.EngineClient(address, grpc.credentials.createInsecure());
  let last: Promise<void> = Promise.resolve();
  return {
    info(message: string): void {
      const req = new engproto.LogRequest();
      req.setSeverity(engproto.LogSeverity.INFO);
      req.setMessage(message);
      req.setUrn('');
      req.setEphemeral(false);
      // In order, one at a time, like pulumi.log.
      last = last.then(() => new Promise<void>((resolve) => client.log(req, () => resolve())));
    },
  };
}

/** The progress sink of this process: the engine in a provider process, else `fallback`. */
export function progressSink(fallback: ProgressSink = { info: () => undefined }): ProgressSink {
  const address = engineAddress();
  if (!address) return fallback;
  if (!engineSink) {
    try {
      engineSink = engineLogSink(address);
    } catch {
      return fallback;
    }
  }
  return engineSink;
}

/** "61.9 MiB" */
export function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
