// The MistServer setup this install wants, from the settings and where the programs are installed.
import { basename } from 'node:path';
import { packagedExecutable, triggerHandlerPath } from '../config';
import type { Db } from '../store/open';
import { getSettings } from '../store/settings';
import { TRIGGERS } from '../triggers/registry';
import type { Desired } from './plan';

/** Program names that are ours wherever they are installed (a moved install is still ours). */
function ourProgramNames(): Set<string> {
  const names = new Set<string>(['mist-trigger', 'streamctl']);
  for (const spec of Object.values(TRIGGERS)) names.add(spec.program);
  const exe = packagedExecutable();
  if (exe) names.add(basename(exe));
  return names;
}

/** Default API URL: MistServer's own default, on loopback (authorised without login). */
export const DEFAULT_MIST_API = 'http://127.0.0.1:4242';

/** What `mist apply` sets and `doctor` expects. */
export function desiredSetup(db: Db): Desired {
  const s = getSettings(db, ['stream-base', 'vod-base', 'vod-placeholder', 'recordings-root']);
  const programs = ourProgramNames();
  return {
    base: s['stream-base'],
    vodBase: s['vod-base'],
    vodSource: s['vod-placeholder'],
    recordingsRoot: s['recordings-root'],
    handlerFor: (spec) => triggerHandlerPath(spec.program),
    isOurHandler: (handler) => handler.startsWith('/') && programs.has(basename(handler)),
  };
}

/** The read request whose answer planSetup takes. Its answer holds key material: never print it. */
export const READ_REQUEST = { config: true, push_auto_list: true, jwks: true } as const;
