/**
 * The lab's programmatic API (tests and stacks use it; `vpm lab ...` is a thin CLI over it).
 * See names.ts for the naming scheme and inventory.ts for the inventory format.
 */
export { labUp, type LabUpOptions } from './up';
export { labDown, type LabDownOptions, type LabDownReport } from './down';
export { labStatus, formatStatus, type LabStatus, type HypervisorStatus, type ReceiverStatus, type DaemonStatus } from './status';
export { labExec, labExecInteractive, type LabExecOptions, type LabExecResult } from './exec';
export {
  readInventory,
  parseInventory,
  InventorySchema,
  type Inventory,
  type InventoryHypervisor,
  type InventoryReceiver,
} from './inventory';
export { LabPaths, hypervisorNames, receiverNames, ovsEnv, MAX_HYPERVISORS, MAX_RECEIVERS } from './names';
export { LabError } from './errors';
export { LAB_TOOLS, requireLabTools } from './tools';
