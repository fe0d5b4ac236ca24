/**
 * The typed OVS command layer: pure builders (values, flows, groups, vsctl transactions) and
 * thin executors over a CommandRunner. Providers reach Open vSwitch only through this module.
 */
export * from './values';
export * from './flow';
export * from './group';
export * from './ofctl';
export * from './ovsdb-json';
export * from './vsctl';
export * from './appctl';
export * from './packet';
export * from './physical';
export * from './underlay-macs';
