/**
 * quote(): every argument must come back byte for byte after one round of POSIX shell
 * parsing. Checked by really running the quoted command through `sh -c` (dash on Debian) and
 * bash, with `printf '%s\0'` printing each argument NUL-terminated.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { quote, quoteArg, validateArgv } from '../../../providers/exec/quote';

/** Runs `printf '%s\0' args...` through `shell -c` and returns the arguments it printed. */
function roundTrip(args: readonly string[], shell = 'sh'): string[] {
  const command = quote(['printf', '%s\\0', ...args]);
  const out = execFileSync(shell, ['-c', command], { encoding: 'utf8' });
  const parts = out.split('\0');
  expect(parts.pop()).toBe(''); // output ends with the last argument's NUL
  return parts;
}

/**
 * roundTrip for many argument lists through ONE shell (a shell per list made these tests the
 * slowest unit suite): each list's printf on its own line; the NUL-terminated output is split
 * back by the lists' lengths. A list whose quoting bled into the next would shift every later
 * list and fail them all.
 */
function roundTripMany(lists: ReadonlyArray<readonly string[]>, shell = 'sh'): string[][] {
  const script = lists.map((args) => quote(['printf', '%s\\0', ...args])).join('\n');
  const parts = execFileSync(shell, ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\0');
  expect(parts.pop()).toBe('');
  expect(parts.length).toBe(lists.reduce((n, l) => n + l.length, 0));
  let at = 0;
  return lists.map((l) => parts.slice(at, (at += l.length)));
}

/** Every list of `lists` (drawn from a random seed, named on failure) comes back as it went. */
function expectAllRoundTrip<T extends string[]>(arb: fc.Arbitrary<T>, numRuns: number, shell = 'sh'): void {
  const seed = Date.now() % 2 ** 31;
  const lists = fc.sample(arb, { numRuns, seed });
  const back = roundTripMany(lists, shell);
  lists.forEach((args, i) => expect({ seed, list: i, args: back[i] }).toEqual({ seed, list: i, args }));
}

const HOSTILE = [
  ';',
  'a; rm -rf /',
  '$(id)',
  '`id`',
  '${HOME}',
  '$HOME',
  "'",
  '"',
  `it's "quoted"`,
  "'''",
  '\n',
  'two\nlines',
  '\t',
  'tab\there',
  'x\r\ny',
  'ünïcødé ✓ 日本語 🚀',
  '',
  '-rf',
  '--',
  '-',
  '*',
  '?',
  '[a]',
  '~',
  '~root',
  '!',
  '!!',
  '\\',
  '\\n',
  'a b',
  '  leading and trailing  ',
  '#comment',
  'FOO=bar',
  '{a,b}',
  '&',
  '|',
  '>out',
  '<in',
  '(sub)',
  '\x01\x7f',
  "'; echo pwned; '",
];

describe('quote', () => {
  it.each(HOSTILE.map((s) => [JSON.stringify(s), s]))('round-trips %s through sh exactly', (_name, s) => {
    expect(roundTrip([s])).toEqual([s]);
  });

  it('round-trips all hostile strings at once, through sh and bash', () => {
    expect(roundTrip(HOSTILE, 'sh')).toEqual(HOSTILE);
    expect(roundTrip(HOSTILE, 'bash')).toEqual(HOSTILE);
  });

  it('keeps plain words readable and quotes everything else', () => {
    expect(quote(['ovs-vsctl', '--may-exist', 'add-br', 'br0'])).toBe('ovs-vsctl --may-exist add-br br0');
    expect(quote(['echo', 'a b', "it's", ''])).toBe(`echo 'a b' 'it'\\''s' ''`);
    expect(quote(['ovs-vsctl', 'set', 'Interface', 'gre0', 'options:remote_ip=10.0.0.2'])).toBe(
      "ovs-vsctl set Interface gre0 'options:remote_ip=10.0.0.2'",
    );
  });

  it('quotes a NAME=value program word, so the shell runs it instead of assigning', () => {
    expect(quote(['FOO=bar'])).toBe("'FOO=bar'");
    const r = spawnSync('sh', ['-c', quote(['FOO=bar'])], { encoding: 'utf8' });
    expect(r.status).toBe(127); // "not found": it was looked up as a command
  });

  it('quotes reserved words in command position only', () => {
    expect(quoteArg('if', true)).toBe("'if'");
    expect(quote(['if', 'then'])).toBe("'if' then");
    const r = spawnSync('sh', ['-c', quote(['if'])], { encoding: 'utf8' });
    expect(r.status).toBe(127); // a missing program, not a syntax error (2)
  });

  it('rejects NUL bytes with a message naming the argument and offset', () => {
    expect(() => quote(['echo', 'ok', 'a\0b'])).toThrow(/argv\[2\]: argument contains a NUL byte at offset 1/);
    expect(() => quoteArg('\0')).toThrow(/NUL/);
  });

  it('property: any list of strings without NUL round-trips through sh (300 random lists)', () => {
    expectAllRoundTrip(fc.array(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 6 }), 300);
  });

  it('property: strings made of shell metacharacters round-trip through bash (200 random lists)', () => {
    const meta = fc.constantFrom(...`'"\`$\\;&|<>(){}[]*?~!# \t\n=%^,.:/-_aZ09é`.split(''));
    expectAllRoundTrip(fc.array(fc.string({ unit: meta, maxLength: 30 }), { minLength: 1, maxLength: 5 }), 200, 'bash');
  });
});

describe('validateArgv', () => {
  it('accepts a non-empty array of strings', () => {
    expect(() => validateArgv(['true'])).not.toThrow();
  });
  it.each([
    [[], /must not be empty/],
    ['ls -l', /must be an array of strings, got string/],
    [null, /got null/],
    [['ls', 3], /argv\[1\] must be a string, got number/],
    [[''], /argv\[0\] .*must not be the empty string/],
  ])('rejects %j', (input, message) => {
    expect(() => validateArgv(input)).toThrow(message);
  });
});
