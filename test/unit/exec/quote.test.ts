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

  it('property: any list of strings without NUL round-trips through sh', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')),
          { minLength: 1, maxLength: 6 },
        ),
        (args) => {
          expect(roundTrip(args)).toEqual(args);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: strings made of shell metacharacters round-trip through bash', () => {
    const meta = fc.constantFrom(...`'"\`$\\;&|<>(){}[]*?~!# \t\n=%^,.:/-_aZ09é`.split(''));
    fc.assert(
      fc.property(fc.array(fc.string({ unit: meta, maxLength: 30 }), { minLength: 1, maxLength: 5 }), (args) => {
        expect(roundTrip(args, 'bash')).toEqual(args);
      }),
      { numRuns: 200 },
    );
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
