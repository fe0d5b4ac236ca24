/**
 * The benchmarks' lab folder is private (issue 17, item 8): a fresh mode-0700 folder of ours
 * each run, never the fixed /tmp/vpmbench-lab that someone else could have made first (the
 * folder holds the lab's SSH key and the hosts file the stacks trust); a VPM_LAB_DIR that
 * someone else owns, others may write, or that is a symbolic link is refused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const saved = { dir: process.env.VPM_LAB_DIR, prefix: process.env.VPM_LAB_NS_PREFIX };
const made: string[] = [];
afterEach(() => {
  for (const [k, v] of [['VPM_LAB_DIR', saved.dir], ['VPM_LAB_NS_PREFIX', saved.prefix]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** Loads bench-env afresh (it acts when imported) and returns the VPM_LAB_DIR it leaves. */
function load(env: { dir?: string }): { dir?: string; error?: unknown } {
  delete process.env.VPM_LAB_NS_PREFIX;
  if (env.dir === undefined) delete process.env.VPM_LAB_DIR;
  else process.env.VPM_LAB_DIR = env.dir;
  let error: unknown;
  jest.isolateModules(() => {
    try {
      require('../../bench/lib/bench-env');
    } catch (e) {
      error = e;
    }
  });
  return { dir: process.env.VPM_LAB_DIR, error };
}

describe('bench lab folder', () => {
  it('by default: a new private folder each run, not a fixed path', () => {
    const a = load({}).dir!;
    const b = load({}).dir!;
    made.push(a, b);
    expect(a).not.toBe(b);
    expect(a).not.toBe(path.join(os.tmpdir(), 'vpmbench-lab'));
    for (const d of [a, b]) {
      const st = fs.statSync(d);
      expect(st.mode & 0o777).toBe(0o700);
      expect(st.uid).toBe(process.getuid!());
    }
    expect(process.env.VPM_LAB_NS_PREFIX).toBe('vpmbench-');
  });

  it('a VPM_LAB_DIR made by another user, writable by others, or a symlink is refused', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-benchdir-'));
    made.push(base);
    const others = path.join(base, 'others');
    fs.mkdirSync(others, { mode: 0o700 });
    const uid = process.getuid!();
    // As root: give it to "nobody" (65534); otherwise pretend to be another user.
    const theirs = uid === 0 ? (fs.chownSync(others, 65534, 65534), others) : others;
    const open = path.join(base, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    const link = path.join(base, 'link');
    fs.symlinkSync(fs.mkdtempSync(path.join(base, 'real-')), link);
    if (uid === 0) expect(String(load({ dir: theirs }).error)).toMatch(/belongs to user 65534, not to you/);
    expect(String(load({ dir: open }).error)).toMatch(/is writable by others \(mode 777\)/);
    expect(String(load({ dir: link }).error)).toMatch(/is a symbolic link/);
    // Ours, private: accepted as given.
    const mine = fs.mkdtempSync(path.join(base, 'mine-'));
    expect(load({ dir: mine })).toEqual({ dir: mine, error: undefined });
  });
});
