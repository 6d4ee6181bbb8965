// The MistServer setup this install wants, from the settings and where the programs are installed.
import { basename } from 'node:path';
import { packagedExecutable, triggerHandlerPath, type ServerRole } from '../config';
import type { Db } from '../store/open';
import { getSettings } from '../store/settings';
import { EDGE_TRIGGERS, TRIGGERS } from '../triggers/registry';
import type { Desired } from './plan';
import { pullSource } from './roles';

/** Program names that are ours wherever they are installed (a moved install is still ours). */
function ourProgramNames(): Set<string> {
  const names = new Set<string>(['mist-trigger', 'streamctl']);
  // The edge's programs too: a server moved between roles gets the other role's handlers removed.
  for (const spec of [...Object.values(TRIGGERS), ...Object.values(EDGE_TRIGGERS)]) names.add(spec.program);
  const exe = packagedExecutable();
  if (exe) names.add(basename(exe));
  return names;
}

// The API's default URL belongs to the client (mist/connection.ts); re-exported for the commands.
export { DEFAULT_MIST_API } from '../mist/connection';

/** The server's role and, for an edge, its origin (host or host:port), as `mist apply` and doctor were given them. */
export interface RoleChoice {
  role: ServerRole;
  origin?: string;
}

/** What `mist apply` sets and `doctor` expects (one box unless `choice` says otherwise). */
export function desiredSetup(db: Db, choice: RoleChoice = { role: 'single' }): Desired {
  const s = getSettings(db, ['stream-base', 'vod-base', 'vod-placeholder', 'recordings-root']);
  const programs = ourProgramNames();
  return {
    role: choice.role,
    pullSource: choice.role === 'edge' && choice.origin ? pullSource(choice.origin) : '',
    base: s['stream-base'],
    vodBase: s['vod-base'],
    vodSource: s['vod-placeholder'],
    recordingsRoot: s['recordings-root'],
    handlerFor: (spec) => triggerHandlerPath(spec.program),
    isOurHandler: (handler) => handler.startsWith('/') && programs.has(basename(handler)),
  };
}

/** The read request whose answer planSetup takes. Its answer holds key material: never print it. */
export const READ_REQUEST = { config: true, push_auto_list: true, jwks: true, streamkeys: true } as const;
