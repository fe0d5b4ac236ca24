/**
 * Jest setup (jest.config.js setupFiles): the test suite's own Pulumi passphrase for the
 * stacks it creates. The lab's default passphrase is only for the lab's own stacks
 * (lab/setup/pulumi-env.js); tests that check the "no passphrase" error unset this in the
 * child's environment.
 */
process.env.PULUMI_CONFIG_PASSPHRASE ??= 'vpm-test-passphrase';
