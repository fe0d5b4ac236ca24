/**
 * Imported first by run-all.ts, before anything reads the lab's settings (lab/names.ts fixes
 * the namespace prefix when it loads): unless the caller chose a lab with VPM_LAB_NS_PREFIX /
 * VPM_LAB_DIR, the benchmarks use a lab of their own (namespaces vpmbench-*, state in a fresh
 * private folder /tmp/vpmbench-lab-XXXXXX), so `npm run bench` never collides with the
 * developer's `npm run lab` (vpmlab-*, .lab/). The children inherit these variables.
 *
 * Why a fresh folder (issue 17): the lab folder holds the lab's SSH key and the hosts file the
 * stacks trust. A fixed /tmp path was used even when another user had made it first (and could
 * read or replace what the lab wrote there); mkdtemp makes a new folder, mode 0700, ours. A
 * VPM_LAB_DIR given by the caller is checked the same way when it already exists.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Why `dir` must not hold a lab's key, or undefined: someone else owns it, or others may write it. */
export function labDirProblem(dir: string, uid = process.getuid?.() ?? -1): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return undefined; // not there yet: the lab makes it
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link; give the lab a real folder of its own`;
  if (!st.isDirectory()) return `${dir} is not a folder`;
  if (uid >= 0 && st.uid !== uid) return `${dir} belongs to user ${st.uid}, not to you (${uid}): anyone who made it can read or replace the lab's key; use another VPM_LAB_DIR`;
  if ((st.mode & 0o022) !== 0) return `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}); chmod go-w it or use another VPM_LAB_DIR`;
  return undefined;
}

if (!process.env.VPM_LAB_NS_PREFIX) process.env.VPM_LAB_NS_PREFIX = 'vpmbench-';
if (!process.env.VPM_LAB_DIR) {
  process.env.VPM_LAB_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'vpmbench-lab-'));
} else {
  const problem = labDirProblem(process.env.VPM_LAB_DIR);
  if (problem) throw new Error(`VPM_LAB_DIR: ${problem}`);
}
