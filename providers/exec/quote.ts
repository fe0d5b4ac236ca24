/**
 * POSIX shell quoting: the ONLY place in VPM where an argv becomes one command string.
 *
 * SSH has no argv: the server hands a single string to the login user's shell (`$SHELL -c`),
 * so every argument must survive exactly one round of POSIX shell parsing. We single-quote
 * every argument that is not made only of characters the shell never treats specially; inside
 * single quotes nothing is special except the closing quote, which is written as `'\''`
 * (close, escaped quote, reopen). This assumes a POSIX-compatible login shell (sh, bash, dash,
 * zsh, ash), which is what root has on every host VPM manages.
 *
 * A NUL byte cannot be carried: C strings (argv, the SSH exec request as sshd passes it on)
 * end at the first NUL, so the command would silently be cut. We refuse instead.
 */

/**
 * Characters that are never special to a POSIX shell in any position of an unquoted word.
 * Deliberately excluded: `=` (a leading `NAME=value` word is an assignment, not a command),
 * `~` (tilde expansion), `{}`/`[]`/`*`/`?` (expansion), `#` (comment) and all whitespace.
 */
const SAFE_WORD = /^[A-Za-z0-9_+,./:@%-]+$/;

/**
 * Words a shell reads as syntax when they stand first (POSIX, bash and zsh reserved words).
 * A program with such a name must be quoted in command position, or `if` would open an
 * if-statement instead of running a program called `if`.
 */
const RESERVED_WORDS = new Set([
  'case', 'coproc', 'do', 'done', 'elif', 'else', 'end', 'esac', 'fi', 'for', 'foreach',
  'function', 'if', 'in', 'nocorrect', 'repeat', 'select', 'then', 'time', 'until', 'while',
]);

/** Throws a TypeError naming the argument index when `argv` is not a non-empty string array. */
export function validateArgv(argv: unknown): asserts argv is readonly string[] {
  if (!Array.isArray(argv)) {
    throw new TypeError(`argv must be an array of strings, got ${describe(argv)}`);
  }
  if (argv.length === 0) {
    throw new TypeError('argv must not be empty: it needs at least the program name');
  }
  argv.forEach((arg, i) => {
    if (typeof arg !== 'string') {
      throw new TypeError(`argv[${i}] must be a string, got ${describe(arg)}`);
    }
  });
  if (argv[0] === '') {
    throw new TypeError('argv[0] (the program) must not be the empty string');
  }
}

/**
 * Quotes one argument so that the shell reads it back as exactly this string.
 * `commandPosition` marks the program word, where reserved words must be quoted too.
 */
export function quoteArg(arg: string, commandPosition = false): string {
  const nul = arg.indexOf('\0');
  if (nul !== -1) {
    throw new TypeError(
      `argument contains a NUL byte at offset ${nul}; a command line cannot carry NUL ` +
        '(pass binary data through stdin instead): ' +
        JSON.stringify(arg.slice(0, 80)),
    );
  }
  if (arg === '') return "''";
  if (SAFE_WORD.test(arg) && !(commandPosition && RESERVED_WORDS.has(arg))) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Turns an argv into one command string for `sh -c`; validates it first. */
export function quote(argv: readonly string[]): string {
  validateArgv(argv);
  return argv
    .map((arg, i) => {
      try {
        return quoteArg(arg, i === 0);
      } catch (e) {
        throw new TypeError(`argv[${i}]: ${(e as Error).message}`);
      }
    })
    .join(' ');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
