// src/lib/time.ts by table: ISO 8601 times as sites and operators write them, and the impossible
// ones Date.parse would roll over into another day.
import { describe, expect, it } from 'vitest';
import { parseIsoTime } from '../../src/lib/time';

describe('parseIsoTime', () => {
  it.each([
    ['2027-01-31', '2027-01-31T00:00:00.000Z'],
    ['2027-01-31T12:00:00Z', '2027-01-31T12:00:00.000Z'],
    ['2027-01-31T12:00Z', '2027-01-31T12:00:00.000Z'],
    ['2027-01-31 12:00:00Z', '2027-01-31T12:00:00.000Z'],
    ['2027-01-31T12:00:00.250Z', '2027-01-31T12:00:00.250Z'],
    ['2027-01-31T12:00:00+01:00', '2027-01-31T11:00:00.000Z'],
    ['2027-01-31T12:00:00-0230', '2027-01-31T14:30:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['2027-12-31T23:59:59Z', '2027-12-31T23:59:59.000Z'],
    [' 2027-03-01 ', '2027-03-01T00:00:00.000Z'],
  ])('%j is %s', (text, iso) => {
    expect(new Date(parseIsoTime(text)).toISOString()).toBe(iso);
  });

  it('reads a time without an offset as local time, as Date.parse does', () => {
    expect(parseIsoTime('2027-01-31T12:00:00')).toBe(new Date(2027, 0, 31, 12, 0, 0).getTime());
  });

  it.each([
    '2027-02-31',
    '2027-02-29',
    '1900-02-29',
    '2027-04-31',
    '2027-13-01',
    '2027-00-10',
    '2027-01-00',
    '2027-01-32',
    '2027-01-31T24:00:00Z',
    '2027-01-31T12:60:00Z',
    '2027-01-31T12:00:60Z',
    '2027-01-31T12:00:00+24:00',
    '2027-01-31T12:00:00+01:60',
    '2027-1-31',
    '27-01-31',
    '2027-01-31T12',
    'tomorrow',
    '',
    '2027-01-31T12:00:00ZZ',
  ])('refuses %j', (text) => {
    expect(parseIsoTime(text)).toBeNaN();
  });
});
