/**
 * commandWaves: how many round trips one after the other a trace shows (the path-setup
 * benchmark's "round trips before the first datagram").
 */
import { commandWaves } from '../../../bench/lib/trace';

const cmd = (t: number, ms: number) => ({ t, ms });

describe('commandWaves', () => {
  it('counts commands in parallel as one round trip, and one that starts after they end as the next', () => {
    // Seven hops at once (overlapping), then the root after the last of them ended.
    const hops = [0, 1, 1, 2, 2, 3, 3].map((t) => cmd(t, 400 + t));
    expect(commandWaves(hops, 10_000)).toBe(1);
    expect(commandWaves([...hops, cmd(406, 100)], 10_000)).toBe(2);
  });

  it('counts only commands started by the cut-off (the first datagram)', () => {
    const lines = [cmd(0, 100), cmd(100, 100), cmd(200, 50), cmd(260, 10)];
    expect(commandWaves(lines, 250)).toBe(3);
    expect(commandWaves(lines, 1_000)).toBe(4);
    expect(commandWaves(lines, -1)).toBe(0);
  });

  it('follows the longest chain, whatever the order of the lines', () => {
    const lines = [cmd(50, 10), cmd(0, 500), cmd(70, 10), cmd(90, 10), cmd(600, 1)];
    expect(commandWaves(lines, 10_000)).toBe(4);
  });
});
