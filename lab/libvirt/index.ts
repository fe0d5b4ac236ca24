/**
 * libvirt + QEMU for the lab: one libvirtd per hypervisor namespace (daemon.ts), the tiny
 * guest and its domain XML (guest.ts, domain.ts), and virsh helpers incl. live migration
 * (virsh.ts). See ../../../shared/LAB-NOTES.md ("libvirt + QEMU VMs and live migration").
 */
export * from './daemon';
export * from '../../providers/libvirt/domain';
export * from './guest';
export * from './virsh';
