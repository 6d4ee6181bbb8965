// Human byte sizes (src/lib/size.ts), powers of 1024: what --max-total-size and settings accept, and how sizes print.
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from '../../src/lib/size';

describe('parseSize', () => {
  it.each([
    ['4096', 4096],
    ['0', 0],
    ['512b', 512],
    ['1k', 1024],
    ['1K', 1024],
    ['20m', 20 * 1024 ** 2],
    ['500G', 500 * 1024 ** 3],
    ['1.5T', 1.5 * 1024 ** 4],
    ['1.5 GiB', Math.round(1.5 * 1024 ** 3)],
    ['2 GB', 2 * 1024 ** 3], // GB is read as GiB: sizes are powers of 1024
    ['0.5k', 512],
    [' 3m ', 3 * 1024 ** 2],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'k', '-1', '1.', '.5k', '1p', '1e3', '1,5g', '10 x', '1kk', '9999999t'])('refuses %j', (text) => {
    expect(parseSize(text)).toBeNull();
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024, '10 KiB'],
    [1.4 * 1024 ** 2, '1.4 MiB'],
    [500 * 1024 ** 3, '500 GiB'],
    [2048 * 1024 ** 4, '2048 TiB'], // TiB is the largest unit
  ])('%d bytes is %j', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});
