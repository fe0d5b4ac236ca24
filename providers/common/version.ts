/**
 * The behaviour version of VPM's providers. It is written into every resource's outputs:
 * the code stored in the state runs `delete` and `refresh` later, so a state can always tell
 * which behaviour created it. Bump it when what a provider does on the hosts changes.
 */
// 2: issue 17: rollbacks report what they leave, FlowPath sweeps every switch it touched,
// MigratedDomain create rolls back and refuses non-tap links, migrations are recorded.
export const PROVIDER_VERSION = '2';
