/** The FlowPath resource class; see types.ts, plan.ts and provider.ts. */
import * as pulumi from '../common/pulumi-sdk';
import { splitConnection } from '../common/connection-input';
import { LazyDynamicResource, lazyProvider } from '../common/lazy-provider';
import { ownerFor } from '../common/owner';
import type { BackupHopArgs, FlowPathArgs, HopArgs } from './types';

const provider = lazyProvider('flow-path/provider');

export class FlowPath extends LazyDynamicResource {
  declare readonly pathId: pulumi.Output<string>;
  declare readonly cookie: pulumi.Output<string>;
  declare readonly flows: pulumi.Output<{ node: string; bridge: string; rules: string[] }[]>;
  declare readonly missing: pulumi.Output<string[]>;

  constructor(name: string, args: FlowPathArgs, opts?: pulumi.CustomResourceOptions) {
    const hops = pulumi.output(args.hops).apply((hs) =>
      hs.map((h) => {
        const { connection, privateKey, passphrase } = splitConnection((h as HopArgs).connection);
        return { hop: pulumi.output(connection).apply((c) => ({ ...h, connection: c })), privateKey, passphrase };
      }),
    );
    const backupHops = pulumi.output(args.backupHops ?? []).apply((hs) =>
      hs.map((h) => {
        const { connection, privateKey, passphrase } = splitConnection((h as BackupHopArgs).connection);
        return { hop: pulumi.output(connection).apply((c) => ({ ...h, connection: c })), privateKey, passphrase };
      }),
    );
    super(
      provider,
      name,
      {
        pathId: args.pathId,
        owner: ownerFor(pulumi.getProject(), pulumi.getStack(), name),
        stream: args.stream,
        egress: args.egress,
        ...(args.down !== undefined ? { down: args.down } : {}),
        hops: hops.apply((hs) => pulumi.all(hs.map((h) => h.hop))),
        privateKeys: pulumi.secret(hops.apply((hs) => pulumi.all(hs.map((h) => h.privateKey)))),
        passphrases: pulumi.secret(hops.apply((hs) => pulumi.all(hs.map((h) => h.passphrase)))),
        ...(args.backupHops !== undefined
          ? {
              backupHops: backupHops.apply((hs) => pulumi.all(hs.map((h) => h.hop))),
              backupPrivateKeys: pulumi.secret(backupHops.apply((hs) => pulumi.all(hs.map((h) => h.privateKey)))),
              backupPassphrases: pulumi.secret(backupHops.apply((hs) => pulumi.all(hs.map((h) => h.passphrase)))),
            }
          : {}),
        cookie: undefined,
        flows: undefined,
        missing: undefined,
        // Outputs only (touched.ts): every switch any version touched, with its credentials.
        touched: undefined,
        touchedPrivateKeys: undefined,
        touchedPassphrases: undefined,
        providerVersion: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), 'privateKeys', 'backupPrivateKeys', 'passphrases', 'backupPassphrases', 'touchedPrivateKeys', 'touchedPassphrases'] },
      'vpm',
      'FlowPath',
    );
  }
}
