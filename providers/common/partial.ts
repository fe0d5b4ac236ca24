/**
 * Failing a step while keeping what it did in the state.
 *
 * A dynamic provider's create or update that throws loses its outputs: the engine keeps the
 * old state. When the step already changed the hosts (a live migration that succeeded before
 * a later step failed), the old state is wrong: it names the source host, and the next `up`
 * would try to migrate a domain that is no longer there. The dynamic provider host turns an
 * error that carries `id` + `properties` into the engine's ErrorResourceInitFailed (see
 * @pulumi/pulumi cmd/dynamic-provider, grpcResponseFromError): the step fails, and the state
 * records `properties` as the resource's outputs.
 *
 * Two things the ordinary path does for us must be done here by hand: the `__provider`
 * (the serialised provider the engine needs to run delete and refresh later) is copied in, and
 * the secret properties are wrapped in Pulumi's secret signature, so the state encrypts them
 * exactly as it encrypts them through additionalSecretOutputs.
 */

/** The property that holds the serialised dynamic provider (cmd/dynamic-provider). */
const PROVIDER_KEY = '__provider';
/** Pulumi's special-value signature key and its "secret" value (sdk/go/common/resource/sig). */
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

export class PartialStateError extends Error {
  readonly properties: Record<string, unknown>;
  readonly reasons: string[];

  /**
   * `inputs` is the step's input property map as the provider host handed it over (it holds
   * `__provider`); `outs` the outputs that describe the hosts now.
   */
  constructor(
    message: string,
    readonly id: string,
    outs: object,
    inputs: object,
    secretKeys: readonly string[],
  ) {
    super(message);
    this.name = 'PartialStateError';
    const props: Record<string, unknown> = { ...outs };
    for (const k of secretKeys) {
      if (props[k] !== undefined && props[k] !== null) props[k] = { [SIG_KEY]: SECRET_SIG, value: props[k] };
    }
    const provider = (inputs as Record<string, unknown>)[PROVIDER_KEY];
    if (provider !== undefined) props[PROVIDER_KEY] = provider;
    this.properties = props;
    this.reasons = [message];
  }
}

/** True for a value wrapped as a secret by PartialStateError (tests). */
export function isSecretWrapped(v: unknown): v is { value: unknown } {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}
