/**
 * The progress lines of a live migration (providers/migrated-domain/progress.ts) and how a
 * provider process finds the engine to send them to (providers/common/progress.ts).
 */
import { engineAddress, type ProgressSink } from '../../../providers/common/progress';
import { RecordingRunner } from '../../../providers/exec/recording';
import { endLine, startLine, watchMigration } from '../../../providers/migrated-domain/progress';

const RUNNING = [
  'Job type:         Unbounded',
  'Operation:        Outgoing migration',
  'Time elapsed:     1210         ms',
  'Data processed:   40.500 MiB',
  'Data remaining:   21.250 MiB',
  'Data total:       96.008 MiB',
  '',
].join('\n');

class Lines implements ProgressSink {
  readonly lines: string[] = [];
  info(m: string): void {
    this.lines.push(m);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('migration progress', () => {
  test('start and end lines name the VM, the hosts and libvirt\'s own figures', () => {
    expect(startLine('leafvm', 'h3', 'h4')).toBe('leafvm: live-migrating from h3 to h4');
    expect(endLine('leafvm', { from: 'h3', to: 'h4', wallMs: 950, totalMs: 902, downtimeMs: 71, dataBytes: 62.5 * 1024 ** 2 })).toBe(
      'leafvm: migrated from h3 to h4: 62.5 MiB moved, total 902 ms, downtime 71 ms',
    );
    expect(endLine('leafvm', { from: 'h3', to: 'h4', wallMs: 950 })).toBe('leafvm: migrated from h3 to h4: wall 950 ms, downtime not reported by libvirt');
  });

  test('while it runs, each interval reports data sent and left from domjobinfo on the source', async () => {
    const source = new RecordingRunner({ handler: () => ({ stdout: RUNNING }) });
    const sink = new Lines();
    const stop = watchMigration(source, 'leafvm', 'h3', 'h4', sink, 30);
    await sleep(110);
    stop();
    const seen = sink.lines.length;
    await sleep(80);
    expect(seen).toBeGreaterThanOrEqual(2);
    expect(sink.lines.length).toBe(seen); // nothing after stop
    expect(sink.lines[0]).toBe('leafvm: migrating h3 -> h4: 40.5 MiB sent, 21.3 MiB left (1210 ms)');
    expect(source.argvs[0]).toEqual(['virsh', 'domjobinfo', 'leafvm']);
  });

  test('a migration shorter than one interval sends no extra command during the switch-over', async () => {
    const source = new RecordingRunner({ handler: () => ({ stdout: RUNNING }) });
    const stop = watchMigration(source, 'leafvm', 'h3', 'h4', new Lines(), 200);
    await sleep(50);
    stop();
    await sleep(250);
    expect(source.calls).toHaveLength(0);
  });

  test('no job (it finished between polls) and unreadable output report nothing', async () => {
    const source = new RecordingRunner({ responses: [{ stdout: 'Job type: None\n' }, { stdout: 'garbage' }, { exitCode: 1, stderr: 'no domain' }] , handler: () => ({ stdout: 'Job type: None\n' }) });
    const sink = new Lines();
    const stop = watchMigration(source, 'leafvm', 'h3', 'h4', sink, 20);
    await sleep(100);
    stop();
    expect(sink.lines).toEqual([]);
  });

  test('the engine address is taken only in a dynamic-provider process', () => {
    expect(engineAddress(['node', '/x/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js', '127.0.0.1:40231'])).toBe('127.0.0.1:40231');
    expect(engineAddress(['node', '/x/jest.js', '127.0.0.1:40231'])).toBeUndefined();
    expect(engineAddress(['node', '/x/cmd/dynamic-provider/index.js', 'evil.example:1; rm -rf /'])).toBeUndefined();
    expect(engineAddress(['node', '/x/cmd/dynamic-provider/index.js'])).toBeUndefined();
  });
});
