// Human durations (src/lib/duration.ts): what flags and settings accept, and how durations print.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/lib/duration';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1m500ms', 60_500], // "ms" is not read as minutes then seconds
    ['0s', 0],
    [' 1H ', 3_600_000], // trimmed, any case
    ['1d1d', 172_800_000], // repeated units add up
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 's', '1', '1.5h', '-1h', '1 h', '1y', 'h1', '1h ago', '1h,30m', '1e3s', '0x10s'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [999.6, '1000ms'],
    [1000, '1s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [61_000, '1m 1s'],
    [3_600_000, '1h'],
    [3_661_000, '1h 1m'], // two parts at most
    [86_400_000 + 5_000, '1d 5s'],
    [90 * 86_400_000, '90d'],
  ])('%d ms is %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
