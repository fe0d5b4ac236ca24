/**
 * Imported first by run-all.ts, before anything reads the lab's settings (lab/names.ts fixes
 * the namespace prefix when it loads): unless the caller chose a lab with VPM_LAB_NS_PREFIX /
 * VPM_LAB_DIR, the benchmarks use a lab of their own (namespaces vpmbench-*, state in
 * /tmp/vpmbench-lab), so `npm run bench` never collides with the developer's `npm run lab`
 * (vpmlab-*, .lab/). The children inherit these variables.
 */
import * as os from 'node:os';
import * as path from 'node:path';

if (!process.env.VPM_LAB_NS_PREFIX) process.env.VPM_LAB_NS_PREFIX = 'vpmbench-';
if (!process.env.VPM_LAB_DIR) process.env.VPM_LAB_DIR = path.join(os.tmpdir(), 'vpmbench-lab');
