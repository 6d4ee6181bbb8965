// Times as streamctl prints them (JSON and tables alike), and as operators and sites write them.

/** Unix ms → ISO 8601 UTC without milliseconds (JSON and tables); null stays null. */
export function isoTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ISO 8601 times as operators and sites write them (`2027-01-31`, `2027-01-31T12:00:00Z`,
// `2027-01-31 12:00+01:00`). Date.parse alone rolls impossible dates over (2027-02-31 becomes
// March 3rd, 24:00 the next day), so a typo would silently move a grant's or a ban's end.

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2}):?(\d{2}))?)?$/;

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * The time in ms, or NaN when `text` is not an ISO 8601 date or time, or names a day or an hour
 * that does not exist. A date alone is midnight UTC; a time without an offset is local time (as
 * Date.parse reads it).
 */
export function parseIsoTime(text: string): number {
  const t = text.trim();
  const m = ISO_TIME.exec(t);
  if (!m) return NaN;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return NaN;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))) return NaN;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return NaN;
  // Date.parse reads every shape above except a space before the time and an offset without its colon.
  const normalised = m[4] === undefined ? t : t.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return Date.parse(normalised);
}
