/**
 * The one error type of the topology engine. It carries every problem found, not just the
 * first, so a user fixes a drawn topology in one round instead of one error per run.
 * Each problem reads "<field path>: <what is wrong>; <how to fix>".
 */

export interface TopologyProblem {
  /** Where in the topology, e.g. `links[3].b` or `nodes`; `(file)`/`(yaml)` for loading. */
  readonly path: string;
  /** What is wrong and how to fix it, separated by "; ". */
  readonly message: string;
}

export class TopologyError extends Error {
  readonly problems: readonly TopologyProblem[];

  /** `source` names where the topology came from (a file name) when there is one. */
  constructor(problems: readonly TopologyProblem[], readonly source?: string) {
    super(TopologyError.format(problems, source));
    this.name = 'TopologyError';
    this.problems = problems;
  }

  private static format(problems: readonly TopologyProblem[], source?: string): string {
    const where = source ? ` in ${source}` : '';
    if (problems.length === 1) return `invalid topology${where}: ${line(problems[0])}`;
    return `invalid topology${where}: ${problems.length} problems:\n` + problems.map((p) => `  - ${line(p)}`).join('\n');
  }
}

const line = (p: TopologyProblem): string => `${p.path}: ${p.message}`;

/** Shorthand for the single-problem case. */
export function topologyError(path: string, message: string): TopologyError {
  return new TopologyError([{ path, message }]);
}
