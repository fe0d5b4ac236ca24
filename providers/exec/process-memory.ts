/**
 * What a provider process learns of the hosts while it serves one engine operation: reads a
 * refresh may reuse (shared-reads.ts), the groups FlowPath believes each switch holds
 * (flow-path/switch-commit.ts). The engine starts a provider process per operation, so this
 * knowledge never outlives one `up`, `refresh` or `destroy`, and nothing in production forgets
 * it. A test that plays several operations in one process (a change by hand, then "the next
 * refresh"; "the next `up`" that has seen no switch yet) calls forgetProcessMemory between them.
 */
const forgetters = new Set<() => void>();

/** Registers how a module forgets what it learned (called once per holder). */
export function registerProcessMemory(forget: () => void): void {
  forgetters.add(forget);
}

/** Forgets everything registered: the process is as new. */
export function forgetProcessMemory(): void {
  for (const forget of forgetters) forget();
}
