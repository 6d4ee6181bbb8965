// The site's viewer ids (a token's sub) and the other claims a playback token makes about a viewer:
// one rule each, used by the verifier, `token issue`, `grant add`, `ban add` and sync, so nothing
// mints or stores a value that another of them refuses.
import { UserError } from '../lib/errors';
import { hasUnprintable } from '../lib/names';

/** Viewer ids are the site's ids (the token's sub): 1-200 characters, none of them a control character. */
export const MAX_VIEWER_ID = 200;

/** Why text is not a viewer id, or null when it is one. */
export function viewerIdProblem(viewer: string): string | null {
  if (viewer === '' || viewer.length > MAX_VIEWER_ID || hasUnprintable(viewer))
    return `invalid viewer id "${viewer.slice(0, 40)}": 1 to 200 printable characters`;
  return null;
}

/** Throws the UserError naming the problem when text is not a viewer id (commands). */
export function checkViewerId(viewer: string): void {
  const problem = viewerIdProblem(viewer);
  if (problem) throw new UserError(problem);
}

/** The `age` claim: whole years, 0 to 199. */
export const isClaimAge = (age: unknown): age is number => Number.isInteger(age) && (age as number) >= 0 && (age as number) < 200;

/** The `ent` claim: a list of strings. */
export const isEntitlementList = (ent: unknown): ent is string[] => Array.isArray(ent) && ent.every((e) => typeof e === 'string');
