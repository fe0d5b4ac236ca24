/**
 * The OvsBridge resource class (what programs use). See types.ts for the inputs and
 * provider.ts for what happens on the host.
 */
import * as pulumi from '../common/pulumi-sdk';
import { SECRET_OUTPUTS, splitConnection } from '../common/connection-input';
import { LazyDynamicResource, lazyProvider } from '../common/lazy-provider';
import { ownerFor } from '../common/owner';
import type { OvsBridgeArgs } from './types';

/** The object the engine serialises into the state (exported for the serialisation tests). */
export const provider = lazyProvider('ovs-bridge/provider');

export class OvsBridge extends LazyDynamicResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly bridgeUuid: pulumi.Output<string>;
  declare readonly datapathId: pulumi.Output<string>;
  declare readonly patchOfport: pulumi.Output<number>;
  declare readonly physicalPatchOfport: pulumi.Output<number>;
  declare readonly failMode: pulumi.Output<string>;
  declare readonly cookie: pulumi.Output<string>;

  constructor(name: string, args: OvsBridgeArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        ...splitConnection(args.connection),
        owner: ownerFor(pulumi.getProject(), pulumi.getStack(), name),
        name: args.name,
        datapathType: args.datapathType,
        failMode: args.failMode,
        protocols: args.protocols,
        patch: args.patch,
        internalPorts: args.internalPorts,
        bridgeUuid: undefined,
        datapathId: undefined,
        patchOfport: undefined,
        physicalPatchOfport: undefined,
        cookie: undefined,
        patchPresent: undefined,
        providerVersion: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...SECRET_OUTPUTS] },
      'vpm',
      'OvsBridge',
    );
  }
}
