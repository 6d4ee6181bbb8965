// Times as streamctl prints them (JSON and tables alike).

/** Unix ms → ISO 8601 UTC without milliseconds (JSON and tables); null stays null. */
export function isoTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
