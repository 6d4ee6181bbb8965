// What every doctor check reports: one finding per thing checked.

export type Status = 'ok' | 'warn' | 'fail';

/** One finding: what was checked, what was found, and the fix when it is not ok. */
export interface Finding {
  check: string;
  status: Status;
  message: string;
  fix?: string;
}
