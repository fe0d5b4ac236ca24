/** The MigratedDomain resource class; see types.ts and provider.ts. */
import * as pulumi from '../common/pulumi-sdk';
import { SECRET_OUTPUTS, splitConnection } from '../common/connection-input';
import { LazyDynamicResource, lazyProvider } from '../common/lazy-provider';
import { ownerFor } from '../common/owner';
import type { MigratedDomainArgs, MigrationReport } from './types';

const provider = lazyProvider('migrated-domain/provider');

export class MigratedDomain extends LazyDynamicResource {
  declare readonly host: pulumi.Output<string>;
  declare readonly state: pulumi.Output<string>;
  declare readonly lastMigration: pulumi.Output<MigrationReport | undefined>;

  constructor(name: string, args: MigratedDomainArgs, opts?: pulumi.CustomResourceOptions) {
    const peerArgs = pulumi.output(args.peers ?? []);
    const peers = peerArgs.apply((ps) => ps.map((p) => ({ host: p.host, connection: (({ privateKey: _k, passphrase: _p, ...rest }) => rest)(p.connection) })));
    // Each peer's key rides along as a secret, so refresh can ask the peer with it.
    const peerPrivateKeys = pulumi.secret(peerArgs.apply((ps) => ps.map((p) => p.connection.privateKey ?? null)));
    const peerPassphrases = pulumi.secret(peerArgs.apply((ps) => ps.map((p) => p.connection.passphrase ?? null)));
    super(
      provider,
      name,
      {
        ...splitConnection(args.connection),
        name: args.name,
        host: args.host,
        migrationUri: args.migrationUri,
        allowUnencryptedMigration: args.allowUnencryptedMigration,
        role: args.role,
        memoryMiB: args.memoryMiB,
        vcpus: args.vcpus,
        kernel: args.kernel,
        initrd: args.initrd,
        emulator: args.emulator,
        cmdline: args.cmdline,
        network: args.network,
        migration: args.migration,
        peers,
        peerPrivateKeys,
        peerPassphrases,
        owner: ownerFor(pulumi.getProject(), pulumi.getStack(), name),
        state: undefined,
        lastMigration: undefined,
        providerVersion: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...SECRET_OUTPUTS, 'peerPrivateKeys', 'peerPassphrases'] },
      'vpm',
      'MigratedDomain',
    );
  }
}
