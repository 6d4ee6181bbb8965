// The only reader of the environment and of the installed config file.
// MistServer runs trigger programs with its own environment and no arguments, so the
// installed programs find their database through streamctl.conf, written by install.sh
// next to the installed code.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UserError } from './lib/errors';

/** Set by the standalone executable's entry: where it is and how it loads its embedded addon. */
let packaged: { executable: string; loadAddon: () => object } | undefined;

/** Called once by the standalone executable before anything else runs. */
export function usePackagedRuntime(executable: string, loadAddon: () => object): void {
  packaged = { executable, loadAddon };
}

/** The standalone executable's path, or undefined when running as node bundles. */
export function packagedExecutable(): string | undefined {
  return packaged?.executable;
}

/** Root of the built application: the folder holding dist/ (and, when installed, streamctl.conf). */
export function appRoot(): string {
  // The standalone executable keeps streamctl.conf beside itself.
  if (packaged) return dirname(packaged.executable);
  // Bundles live in <root>/dist/*.js; running from src/ (tests, tsx) also lands on the repo root.
  return resolve(__dirname, '..');
}

/** Absolute path MistServer runs for a trigger program (it passes the trigger name as argv[1]). */
export function triggerHandlerPath(program: string): string {
  return packaged ? packaged.executable : join(appRoot(), 'bin', program);
}

/** Where the installed config file lives. */
export function installedConfigPath(): string {
  return process.env.STREAMCTL_CONF || join(appRoot(), 'streamctl.conf');
}

/** Reads `key=value` lines; missing file → empty. */
export function readInstalledConfig(path = installedConfigPath()): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/**
 * STREAMCTL_DB, else the installed config's db=, else ./data/streamctl.db (a source checkout only:
 * the standalone executable has no such default and refuses, naming `streamctl init`).
 */
export function databasePath(): string {
  const fromEnv = process.env.STREAMCTL_DB;
  if (fromEnv) return resolve(fromEnv);
  const installed = readInstalledConfig().db;
  if (installed) return resolve(installed);
  if (packaged)
    throw new UserError(
      `no database configured: ${installedConfigPath()} names no db=; run 'streamctl init --db <path>' (or set STREAMCTL_DB)`,
    );
  return resolve('data', 'streamctl.db');
}

/**
 * The group the database is shared with (install.sh's db_group=: MistServer's user and, with
 * SITE_USER, the site's), or undefined when only its owner may use it. Decides the mode of a
 * database file the CLI creates.
 */
export function databaseGroup(): string | undefined {
  return readInstalledConfig().db_group || undefined;
}

/** What better-sqlite3 gets as `nativeBinding`: the embedded addon when packaged, else the copied file. */
export function nativeBinding(): string | object | undefined {
  return packaged ? packaged.loadAddon() : nativeBindingPath();
}

/**
 * The database trigger programs use when MistServer runs them (its environment has no STREAMCTL_DB):
 * the installed config's db=, or undefined when it names none. Also says whether STREAMCTL_CONF
 * redirects the config file here (MistServer's environment would not).
 */
export function triggerDatabase(): { path?: string; configFile: string; configFromEnv: boolean } {
  const db = readInstalledConfig().db;
  return { path: db ? resolve(db) : undefined, configFile: installedConfigPath(), configFromEnv: Boolean(process.env.STREAMCTL_CONF) };
}

/** Where the standalone executable extracts its addon: STREAMCTL_CACHE_DIR, else the temp folder. */
export function addonCacheRoot(): string {
  return process.env.STREAMCTL_CACHE_DIR || tmpdir();
}

/** The better-sqlite3 addon copied next to the bundles by the build, if present. */
export function nativeBindingPath(): string | undefined {
  const p = join(appRoot(), 'dist', 'better_sqlite3.node');
  return existsSync(p) ? p : undefined;
}

export interface MistApiCredentials {
  username?: string;
  password?: string;
  /** Why configured credentials were not used (e.g. a password file others can read). */
  problem?: string;
}

/**
 * Login for MistServer's API when it is not on loopback: STREAMCTL_MIST_USER and
 * STREAMCTL_MIST_PASSWORD, else the installed config's mist_api_user= and mist_api_password_file=
 * (a file only its owner may read). Never stored in the database, which MistServer's user reads.
 */
export function mistApiCredentials(): MistApiCredentials {
  const env = process.env;
  if (env.STREAMCTL_MIST_USER) return { username: env.STREAMCTL_MIST_USER, password: env.STREAMCTL_MIST_PASSWORD ?? '' };
  const conf = readInstalledConfig();
  if (!conf.mist_api_user) return {};
  const file = conf.mist_api_password_file;
  if (!file) return { username: conf.mist_api_user, password: '' };
  try {
    if ((statSync(file).mode & 0o077) !== 0) return { problem: `${file} is readable by others (chmod 600 it); MistServer login not used` };
    return { username: conf.mist_api_user, password: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
  } catch (err) {
    return { problem: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); MistServer login not used` };
  }
}

/** What MistServer says about the event in a trigger program's environment. */
export interface MistEventEnv {
  /** MIST_TRIGGER: the trigger name ('' when absent). */
  trigger: string;
  /** MIST_TIME as a number (NaN when absent or not a number). */
  time: number;
  /** MIST_TUUID: unique per event, repeated on re-delivery ('' when absent). */
  eventId: string;
}

/** MistServer's MIST_* variables for the running trigger program. */
export function mistEventEnv(): MistEventEnv {
  const env = process.env;
  return { trigger: env.MIST_TRIGGER ?? '', time: Number(env.MIST_TIME), eventId: env.MIST_TUUID ?? '' };
}

/** STREAMCTL_DEBUG: extra stderr lines from triggers, stack traces from the CLI. */
export function debugEnabled(): boolean {
  return Boolean(process.env.STREAMCTL_DEBUG);
}

/** This process's environment with some variables replaced, for a child process (doctor's probes). */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** What this server is in a deployment: one box, the origin of edges, or an edge. */
export type ServerRole = 'single' | 'origin' | 'edge';
const ROLES: readonly ServerRole[] = ['single', 'origin', 'edge'];

/** STREAMCTL_ROLE, else the installed config's role=, else `single`; an unknown value is refused, naming it. */
export function role(): ServerRole {
  const fromEnv = process.env.STREAMCTL_ROLE;
  const value = fromEnv || readInstalledConfig().role || 'single';
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new UserError(
      `unknown role "${value.slice(0, 32)}" in ${fromEnv ? 'STREAMCTL_ROLE' : `${installedConfigPath()} (role=)`}: expected single, origin or edge`,
    );
  }
  return value as ServerRole;
}

/** An edge's local Redis replica (a unix socket path): STREAMCTL_REDIS_REPLICA, else redis_replica=. */
export function redisReplica(): string | undefined {
  return process.env.STREAMCTL_REDIS_REPLICA || readInstalledConfig().redis_replica || undefined;
}

/**
 * The origin's Redis primary (host:port or a socket path): STREAMCTL_REDIS_PRIMARY, else
 * redis_primary=. The origin's relay writes there; an edge uses it only for the viewer cap.
 */
export function redisPrimary(): string | undefined {
  return process.env.STREAMCTL_REDIS_PRIMARY || readInstalledConfig().redis_primary || undefined;
}

/**
 * The Redis password (AUTH, the same on the primary and the replicas), from the file named by
 * STREAMCTL_REDIS_PASSWORD_FILE or redis_password_file=; none configured → {}. A file everyone may
 * read is not used (problem says why), like the MistServer API password.
 */
export function redisPassword(): { password?: string; problem?: string } {
  const file = process.env.STREAMCTL_REDIS_PASSWORD_FILE || readInstalledConfig().redis_password_file;
  if (!file) return {};
  try {
    // Group-readable is expected (MistServer's user runs the edge triggers); world-readable is not.
    if ((statSync(file).mode & 0o007) !== 0)
      return { problem: `${file} is readable by everyone (chmod o-rwx it); Redis password not used` };
    return { password: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
  } catch (err) {
    return { problem: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); Redis password not used` };
  }
}

/**
 * Where an edge finds the origin's recordings (shared storage: the origin's recordings folder
 * mounted here): STREAMCTL_RECORDINGS_ROOT, else streamctl.conf's recordings_root= (install.sh
 * RECORDINGS_ROOT). The edge's STREAM_SOURCE joins each recording's replicated relative path to it.
 * An edge has no database to hold a setting, hence the config file.
 */
export function edgeRecordingsRoot(): string | undefined {
  return process.env.STREAMCTL_RECORDINGS_ROOT || readInstalledConfig().recordings_root || undefined;
}

/**
 * Where an edge keeps one small file per viewer session admitted with a playback token (its expiry
 * and stream), for `sessions expire` to find the streams holding expired tokens:
 * STREAMCTL_SESSIONS_DIR, else streamctl.conf's sessions_dir=, else `sessions` beside the installed
 * database (install.sh's STATE_DIR, which MistServer's user may write). Undefined when none is known.
 */
export function edgeSessionsDir(): string | undefined {
  const fromEnv = process.env.STREAMCTL_SESSIONS_DIR;
  if (fromEnv) return resolve(fromEnv);
  const conf = readInstalledConfig();
  if (conf.sessions_dir) return resolve(conf.sessions_dir);
  return conf.db ? join(dirname(resolve(conf.db)), 'sessions') : undefined;
}

/** An edge's origin (host, or host:port of its DTSC output): the installed config's origin= (install.sh ORIGIN=). */
export function originHost(): string | undefined {
  return readInstalledConfig().origin || undefined;
}

/**
 * STREAMCTL_UDP_API_PORT: another port for the datagrams meant for MistServer's local UDP API
 * (fixed at 4242 in MistServer's build). For tests that run side by side, each listening on its
 * own port; never set in an installation.
 */
export function udpApiPortOverride(): number | undefined {
  const port = Number(process.env.STREAMCTL_UDP_API_PORT);
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/**
 * Who runs this command, for the admin events: the operating-system user, and the one who called
 * sudo when it is root through sudo (`root (sudo from alice)`).
 */
export function operatorName(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER || `uid ${process.getuid?.() ?? '?'}`;
  }
  const sudo = process.env.SUDO_USER;
  return sudo && sudo !== name ? `${name} (sudo from ${sudo})` : name;
}
