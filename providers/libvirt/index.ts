/**
 * The libvirt layer: domain XML (domain.ts), the one virsh command layer (virsh.ts) and its
 * job statistics parser (jobinfo.ts). Modules outside providers/libvirt import from here.
 */
export * from './domain';
export * from './jobinfo';
export * from './virsh';
