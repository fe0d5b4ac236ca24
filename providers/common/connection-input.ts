/**
 * How a resource takes its `connection` input. The private key (when given inline) is split
 * out of `connection` into a separate `privateKey` property that is always a Pulumi secret
 * and listed in additionalSecretOutputs, so the state stores it encrypted and nothing prints
 * it; the provider joins the two again only when it opens the SSH connection.
 */
import * as pulumi from '@pulumi/pulumi';
import type { ConnectionSpec } from '../exec/connection';

export type ConnectionWithoutKey = Omit<ConnectionSpec, 'privateKey'>;

/** The two resource properties that carry one connection. */
export interface ConnectionProps {
  connection: pulumi.Input<ConnectionWithoutKey>;
  privateKey: pulumi.Input<string | undefined>;
}

export function splitConnection(connection: pulumi.Input<ConnectionSpec>): ConnectionProps {
  const output = pulumi.output(connection);
  return {
    connection: output.apply(({ privateKey: _secret, ...rest }) => rest),
    privateKey: pulumi.secret(output.apply((c) => c.privateKey)),
  };
}

/** The resource options every VPM resource with a connection needs. */
export const SECRET_OUTPUTS = ['privateKey'];

/** Provider side: the full spec again (never logged, never returned in messages). */
export function joinConnection(connection: ConnectionWithoutKey, privateKey: string | undefined): ConnectionSpec {
  return privateKey ? { ...connection, privateKey } : { ...connection };
}
