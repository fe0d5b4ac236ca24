/**
 * libvirt + QEMU for the lab: one libvirtd per hypervisor namespace (daemon.ts), the tiny
 * guest (guest.ts; its kernel command line and domain XML come from the product:
 * components/streaming-tree/guest.ts, providers/libvirt/domain.ts), and virsh helpers incl.
 * live migration (virsh.ts). See ../../../shared/LAB-NOTES.md ("libvirt + QEMU VMs and live migration").
 */
export * from './daemon';
export * from '../../providers/libvirt/domain';
export { guestCmdline, type GuestCmdlineOptions } from '../../components/streaming-tree/guest';
export * from './guest';
export * from './virsh';
