/**
 * Host access for every VPM module: the CommandRunner contract (run and stream), its SSH,
 * local and recording implementations, the connection pool, and the error classes. Modules
 * outside providers/exec import from here only. (Unit tests of exec's internals, and tests
 * that jest.spyOn a module's exports, import the files themselves.)
 *
 * Loading this barrel loads the SSH runner (ssh2). That is fine for every importer: the
 * resources Pulumi serialises capture only lazyProvider's two strings
 * (providers/common/lazy-provider.ts) and load their implementation, and so this module, at
 * run time in the provider process, which needs the SSH runner anyway.
 */
export * from './errors';
export type {
  CommandResult,
  CommandRunner,
  CommandStream,
  RunOptions,
  TraceNote,
  StreamExit,
  StreamHandlers,
  StreamOptions,
} from './runner';
export { LineBuffer, MAX_STREAM_LINE } from './lines';
export { lifelineArgv } from './lifeline';
export { CONNECTION_DEFAULTS, type ConnectionSpec, type JumpHostSpec } from './connection';
export {
  connectionProblems,
  isValidHost,
  privateKeyProblem,
  Redacted,
  resolveConnection,
  type AuthMethod,
  type ResolvedConnection,
} from './connection-check';
export { fingerprintOf, parsePinnedKey, verifyHostKey, type PinnedKey } from './hostkey';
export { quote, quoteArg, validateArgv } from './quote';
export { DEFAULT_COMMAND_TIMEOUT_MS } from './outcome';
export { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './retry';
export { DEFAULT_MAX_SESSIONS, SshRunner, type SshRunnerOptions } from './ssh';
export { LocalRunner, type LocalRunnerOptions } from './local';
export {
  RecordingRunner,
  type RecordedCall,
  type RecordingRunnerOptions,
  type ResponseHandler,
  type ScriptedResponse,
} from './recording';
export { closeAll, getRunner, hostLockKey, poolKey, poolSize, withHostLock } from './pool';
export { Semaphore } from './semaphore';
export { GroupCommit, type GroupRunner } from './group-commit';
export { findExecutable, requireExecutable } from './which';
export type { TraceLine } from './trace';
export { BatchStepError, GUARD_EXIT, runBatch, type BatchOptions, type BatchResult, type BatchStep } from './batch';
