/**
 * Host access for every VPM provider: the CommandRunner contract, its SSH, local and
 * recording implementations, the connection pool, and the error classes. Providers import
 * from here only.
 */
export * from './errors';
export type {
  CommandResult,
  CommandRunner,
  CommandStream,
  RunOptions,
  StreamExit,
  StreamHandlers,
  StreamOptions,
} from './runner';
export { LineBuffer, MAX_STREAM_LINE } from './lines';
export { lifelineArgv } from './lifeline';
export { CONNECTION_DEFAULTS, type ConnectionSpec } from './connection';
export {
  connectionProblems,
  isValidHost,
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
export { findExecutable, requireExecutable } from './which';
