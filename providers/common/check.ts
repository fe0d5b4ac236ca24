/**
 * Validation for provider `check`: runs a zod schema and turns its issues into Pulumi
 * CheckFailures ({property, reason}). Values unknown during preview (the engine's sentinel)
 * are accepted as they are: the real value is checked again when it is known.
 */
import type { ZodType } from 'zod';

/** The engine's marker for a value not known yet (see @pulumi/pulumi runtime/rpc unknownValue). */
export const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

export interface CheckFailure {
  property: string;
  reason: string;
}

export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** True when the sentinel appears anywhere inside `value` (an unknown nested in inputs). */
export function containsUnknown(value: unknown): boolean {
  return JSON.stringify(value ?? null).includes(UNKNOWN);
}

/** True when the value at `path`, or any value on the way to it, is unknown. */
function touchesUnknown(root: unknown, pathParts: ReadonlyArray<PropertyKey>): boolean {
  let value: unknown = root;
  if (isUnknown(value)) return true;
  for (const part of pathParts) {
    if (value === null || typeof value !== 'object') return false;
    value = (value as Record<PropertyKey, unknown>)[part];
    if (isUnknown(value)) return true;
  }
  return false;
}

/** Renders a zod path as `hops[2].bridge`. */
export function propertyPath(pathParts: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of pathParts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(inputs)';
}

/** The engine's own key in every dynamic resource's inputs (the serialised provider). */
const PROVIDER_KEY = '__provider';

/**
 * Drops what is not the user's input: the engine's `__provider` key, and nulls (an absent
 * optional value, e.g. a secret wrapping undefined, arrives as null).
 */
function userInputs(value: unknown, top = true): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || (top && k === PROVIDER_KEY)) continue;
    out[k] = userInputs(v, false);
  }
  return out;
}

export function checkWith<T>(schema: ZodType<T>, rawInputs: unknown): { inputs: T | undefined; failures: CheckFailure[] } {
  const inputs = userInputs(rawInputs);
  const parsed = schema.safeParse(inputs);
  if (parsed.success) return { inputs: parsed.data, failures: [] };
  const failures = parsed.error.issues
    .filter((issue) => !touchesUnknown(inputs, issue.path))
    .map((issue) => ({ property: propertyPath(issue.path), reason: issue.message }));
  // Only unknowns failed: pass the inputs through untouched for the engine to resolve later.
  return { inputs: failures.length === 0 ? (inputs as T) : undefined, failures };
}
