// The site's viewer ids (a token's sub), as operators type them for grants and bans.
import { UserError } from '../lib/errors';

/** Viewer ids are the site's ids (the token's sub): any 1-200 printable characters. */
export function checkViewerId(viewer: string): void {
  if (viewer === '' || viewer.length > 200 || /[\x00-\x1f\x7f]/.test(viewer)) throw new UserError(`invalid viewer id "${viewer.slice(0, 40)}": 1 to 200 printable characters`);
}
