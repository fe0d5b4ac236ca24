/**
 * Limits on untrusted topology input, checked BEFORE the YAML parser and the validators run.
 *
 * Why before: the yaml library composes nested collections recursively. A 200 KB file of
 * `[[[[…` ends in "Maximum call stack size exceeded" or, after that, in a V8 out-of-memory
 * abort that no try/catch can stop (measured: `FATAL ERROR: RegExpCompiler Allocation
 * failed`), and the dashboard re-reads the topology every 30 s. So the text is measured with
 * a flat scan first: its size, and how deep its collections nest.
 *
 * The depth scan is an upper bound made without recursion: flow collections count their
 * open brackets (outside quotes and comments); block collections count the indentation
 * levels open on the stack, as YAML itself does, plus the compact `- ` / `? ` indicators
 * that open a level on the same line. A real topology nests 4-5 levels.
 */
import { TopologyError, type TopologyProblem } from './errors';

/** Bytes of topology text read at most (a 10,000-node topology is about 600 KB). */
export const MAX_TOPOLOGY_BYTES = 2 * 1024 * 1024;
/** Nesting levels allowed (a topology needs 5). */
export const MAX_TOPOLOGY_DEPTH = 64;
/** Problems reported at most; the rest are counted, not listed. */
export const MAX_TOPOLOGY_PROBLEMS = 50;

/** The size and depth problems of a topology text; empty when it is within the limits. */
export function textLimitProblems(text: string): TopologyProblem[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TOPOLOGY_BYTES) {
    return [{ path: '(file)', message: `is ${bytes} bytes, more than ${MAX_TOPOLOGY_BYTES}; split it or remove what is not needed` }];
  }
  const depth = nestingDepth(text, MAX_TOPOLOGY_DEPTH + 1);
  if (depth > MAX_TOPOLOGY_DEPTH) {
    return [{ path: '(yaml)', message: `collections are nested deeper than ${MAX_TOPOLOGY_DEPTH} levels; a topology needs about 5, flatten it` }];
  }
  return [];
}

/**
 * An upper bound of the nesting depth of YAML text, scanning once, without recursion; stops
 * as soon as it reaches `stopAt`.
 */
export function nestingDepth(text: string, stopAt = Infinity): number {
  let max = 0;
  let flow = 0; // open [ and {
  const indents: number[] = []; // the block levels open, by indentation column
  let quote: '"' | "'" | undefined;
  let lineStart = true;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quote) {
      if (quote === '"' && c === '\\') i += 2;
      else {
        if (c === quote) {
          // '' inside a single-quoted scalar is an escaped quote, not the end.
          if (quote === "'" && text[i + 1] === "'") i++;
          else quote = undefined;
        }
        i++;
      }
      continue;
    }
    if (lineStart) {
      lineStart = false;
      let col = 0;
      while (text[i + col] === ' ') col++;
      const next = text[i + col];
      if (flow === 0 && next !== undefined && next !== '\n' && next !== '\r' && next !== '#') {
        while (indents.length > 0 && indents[indents.length - 1] > col) indents.pop();
        if (indents.length === 0 || indents[indents.length - 1] < col) indents.push(col);
        // Compact nested sequences/keys on one line: `- - - x` opens a level per indicator.
        let j = i + col;
        let compact = 0;
        while ((text[j] === '-' || text[j] === '?') && (text[j + 1] === ' ' || text[j + 1] === '\n' || text[j + 1] === undefined)) {
          compact++;
          j += 2;
          while (text[j] === ' ') j++;
        }
        max = Math.max(max, indents.length + compact);
        if (max >= stopAt) return max;
      }
      i += col;
      continue;
    }
    if (c === '\n') {
      lineStart = true;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || text[i - 1] === ' ' || text[i - 1] === '\t' || text[i - 1] === '\n')) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    } else if (c === '[' || c === '{') {
      flow++;
      max = Math.max(max, indents.length + flow);
      if (max >= stopAt) return max;
    } else if ((c === ']' || c === '}') && flow > 0) {
      flow--;
    }
    i++;
  }
  return max;
}

/**
 * Nesting depth of a parsed value (stack config objects skip the YAML text), iteratively;
 * stops at `stopAt`. Shared references count once per path, like the YAML they came from.
 */
export function valueDepth(value: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  let visited = 0;
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max >= stopAt) return max;
    // Breadth is bounded by the byte limit for files; for objects, stop counting past 1e6.
    if (++visited > 1_000_000) return max;
    for (const child of Object.values(v as object)) stack.push([child, depth]);
  }
  return max;
}

/** The error for a value nested too deep (parseTopology's input). */
export function depthError(source?: string): TopologyError {
  return new TopologyError(
    [{ path: '(topology)', message: `nested deeper than ${MAX_TOPOLOGY_DEPTH} levels; a topology needs about 5, flatten it` }],
    source,
  );
}

/**
 * At most MAX_TOPOLOGY_PROBLEMS problems, and when there were more, one last line saying so
 * (memory and message size stay bounded whatever the file holds).
 */
export function capProblems(problems: readonly TopologyProblem[]): TopologyProblem[] {
  if (problems.length <= MAX_TOPOLOGY_PROBLEMS) return [...problems];
  return [
    ...problems.slice(0, MAX_TOPOLOGY_PROBLEMS),
    {
      path: '(topology)',
      message: `more than ${MAX_TOPOLOGY_PROBLEMS} problems, first ${MAX_TOPOLOGY_PROBLEMS} shown (${problems.length} in all); fix these and load it again`,
    },
  ];
}
