/** The GreTunnel resource class; see types.ts and provider.ts. */
import * as pulumi from '../common/pulumi-sdk';
import { splitConnection } from '../common/connection-input';
import { LazyDynamicResource, lazyProvider } from '../common/lazy-provider';
import { ownerFor } from '../common/owner';
import type { GreTunnelArgs, TunnelEndArgs } from './types';

/** The object the engine serialises into the state (exported for the serialisation tests). */
export const provider = lazyProvider('gre-tunnel/provider');

function end(args: pulumi.Input<TunnelEndArgs>) {
  const split = pulumi.output(args).apply((e) => {
    const { connection, privateKey, passphrase } = splitConnection(e.connection);
    return { end: pulumi.all([connection]).apply(([c]) => ({ ...e, connection: c })), privateKey, passphrase };
  });
  return {
    value: split.apply((s) => s.end),
    privateKey: pulumi.secret(split.apply((s) => s.privateKey)),
    passphrase: pulumi.secret(split.apply((s) => s.passphrase)),
  };
}

export class GreTunnel extends LazyDynamicResource {
  declare readonly aOfport: pulumi.Output<number>;
  declare readonly bOfport: pulumi.Output<number>;
  declare readonly aPresent: pulumi.Output<boolean>;
  declare readonly bPresent: pulumi.Output<boolean>;

  constructor(name: string, args: GreTunnelArgs, opts?: pulumi.CustomResourceOptions) {
    const a = end(args.a);
    const b = end(args.b);
    super(
      provider,
      name,
      {
        a: a.value,
        b: b.value,
        aPrivateKey: a.privateKey,
        bPrivateKey: b.privateKey,
        aPassphrase: a.passphrase,
        bPassphrase: b.passphrase,
        owner: ownerFor(pulumi.getProject(), pulumi.getStack(), name),
        key: args.key,
        bfd: args.bfd,
        aOfport: undefined,
        bOfport: undefined,
        aPresent: undefined,
        bPresent: undefined,
        providerVersion: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), 'aPrivateKey', 'bPrivateKey', 'aPassphrase', 'bPassphrase'] },
      'vpm',
      'GreTunnel',
    );
  }
}
