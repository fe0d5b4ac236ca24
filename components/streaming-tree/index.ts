export { StreamingTree, type StreamingTreeArgs, type TreeHost, type GuestImage } from './component';
export { planTree, type TreePlan, type HostFacts } from './plan';
export * from './ports';
export { withProgramErrors, asProgramError, isUserError, ProgramInputError } from './program-errors';
