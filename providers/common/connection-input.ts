/**
 * How a resource takes its `connection` input. The private key (when given inline) and the
 * key's passphrase are split out of `connection` into separate `privateKey` / `passphrase`
 * properties that are always Pulumi secrets and listed in additionalSecretOutputs, so the
 * state stores them encrypted and nothing prints them; the provider joins them again only
 * when it opens the SSH connection.
 */
import * as pulumi from './pulumi-sdk';
import type { ConnectionSpec } from '../exec';

export type ConnectionWithoutKey = Omit<ConnectionSpec, 'privateKey' | 'passphrase'>;

/** The two resource properties that carry one connection. */
export interface ConnectionProps {
  connection: pulumi.Input<ConnectionWithoutKey>;
  privateKey: pulumi.Input<string | undefined>;
  passphrase: pulumi.Input<string | undefined>;
}

export function splitConnection(connection: pulumi.Input<ConnectionSpec>): ConnectionProps {
  const output = pulumi.output(connection);
  return {
    // The rest holds no key material: unsecret it, so previews still show host and port even
    // when the whole connection came from a secret (a key from secret stack config).
    connection: pulumi.unsecret(output.apply(({ privateKey: _secret, passphrase: _secret2, ...rest }) => rest)),
    privateKey: pulumi.secret(output.apply((c) => c.privateKey)),
    passphrase: pulumi.secret(output.apply((c) => c.passphrase)),
  };
}

/** The resource options every VPM resource with a connection needs. */
export const SECRET_OUTPUTS = ['privateKey', 'passphrase'];

/** Provider side: the full spec again (never logged, never returned in messages). */
export function joinConnection(connection: ConnectionWithoutKey, privateKey: string | undefined | null, passphrase?: string | null): ConnectionSpec {
  return { ...connection, ...(privateKey ? { privateKey } : {}), ...(passphrase ? { passphrase } : {}) };
}
