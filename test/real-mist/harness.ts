// The real-server layer's only contact with the project: install.sh into a temp PREFIX, the
// installed `streamctl`, and what a broadcaster and a viewer see of MistServer (ffmpeg, curl, its
// HTTP API). Nothing here imports src/, so the tests hold however src/ is arranged.
// Everything runs inside ../shared/mistserver/isolated.sh (scripts/test-real.sh): one MistServer
// per test file, on the namespace's own 127.0.0.1 with the default ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..');
/** CI clones the repository next to shared/, so the server is found relative to the repo (REAL_MIST_DIR overrides). */
export const MIST = process.env.REAL_MIST_DIR || resolve(REPO, '..', 'shared', 'mistserver');
const API = 'http://127.0.0.1:4242/api';
const HTTP = 'http://127.0.0.1:8080';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value; throws with the last value after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(everyMs);
  }
}

/**
 * Runs `job` as a scheduled timer runs it (the sessions-expire job, say): a run starts every
 * `periodMs`, however long one takes; a failing run is the next run's business. Resolves the
 * returned stop once the run in progress has finished.
 */
export function runEvery(periodMs: number, job: () => unknown): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      await Promise.resolve()
        .then(job)
        .catch(() => undefined);
      await sleep(Math.max(0, periodMs - (Date.now() - started)));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Environment without the developer's STREAMCTL_* (the installed programs must find their own database). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('STREAMCTL_') && !k.startsWith('MIST_') && k !== 'NODE_EXTRA_CA_CERTS') env[k] = v;
  return { ...env, ...extra };
}

export interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** One MistServer started from a blank config, with streamctl installed and applied to it. */
export class RealMist {
  readonly work = mkdtempSync(join(tmpdir(), 'streamctl-real-'));
  readonly prefix = join(this.work, 'prefix');
  readonly mistDir = join(this.work, 'mist');
  readonly state = join(this.prefix, 'var', 'lib', 'streamctl');
  readonly recordings = join(this.state, 'recordings');
  private procs = new Set<ChildProcess>();

  /** install.sh (SKIP_BUILD: the layer's global setup built dist/ once), start.sh, mist apply. */
  async start(): Promise<void> {
    this.install();
    await this.startMist();
  }

  /** install.sh into this server's PREFIX; `env` adds install.sh's options (e.g. ROLE). */
  install(env: Record<string, string> = {}): void {
    const inst = spawnSync('bash', [join(REPO, 'install.sh')], {
      env: cleanEnv({ ...env, PREFIX: this.prefix, SKIP_BUILD: '1' }),
      encoding: 'utf8',
    });
    if (inst.status !== 0) throw new Error(`install.sh failed: ${inst.stderr}${inst.stdout}`);
  }

  /** MistServer dies at once with everything it started (SIGKILL to its process group): a crash. */
  crash(): void {
    // mist.pid is start.sh's background shell; MistController below it leads its own session
    // (setsid), whose process group holds every input and output.
    const pid = spawnSync('cat', [join(this.mistDir, 'mist.pid')], { encoding: 'utf8' }).stdout.trim();
    const children = spawnSync('cat', [`/proc/${pid}/task/${pid}/children`], { encoding: 'utf8' })
      .stdout.trim()
      .split(/\s+/);
    for (const p of [pid, ...children].map(Number).filter((n) => n > 0)) {
      for (const target of [-p, p]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // already gone, or not a group leader
        }
      }
    }
  }

  /** Removes MistServer's shared-memory pages (this namespace's own /dev/shm, see isolated.sh). */
  clearShm(): void {
    for (const f of readdirSync('/dev/shm')) if (f.startsWith('Mst')) rmSync(join('/dev/shm', f), { force: true });
  }

  /** A blank MistServer (start.sh), set up by `streamctl mist apply` alone. */
  async startMist(): Promise<void> {
    // start.sh leaves a shell holding its stdout while MistServer runs: output goes to a file,
    // or spawnSync would wait for that pipe to close.
    const st = spawnSync('bash', ['-c', 'mkdir -p "$2" && "$1/start.sh" "$2" >"$2/start.out" 2>&1', 'start', MIST, this.mistDir], {
      stdio: 'ignore',
    });
    if (st.status !== 0)
      throw new Error(`start.sh failed: ${spawnSync('cat', [join(this.mistDir, 'start.out')], { encoding: 'utf8' }).stdout}`);
    const apply = this.sc(['mist', 'apply']);
    if (apply.status !== 0) throw new Error(`mist apply failed: ${apply.stderr}`);
    // MistServer starts its connectors a few seconds after the config changes.
    await waitFor('RTMP, HTTP, RTSP and SRT connectors', async () => {
      const protocols = ((await this.api({})).config?.protocols ?? []) as { connector: string; online: unknown }[];
      return ['RTMP', 'HTTP', 'RTSP', 'TSSRT'].every((c) => protocols.some((p) => p.connector === c && p.online === 1));
    });
  }

  async stop(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    spawnSync('bash', [join(MIST, 'stop.sh'), this.mistDir]);
    if (!process.env.KEEP_REAL_MIST) rmSync(this.work, { recursive: true, force: true });
  }

  /** The installed CLI, as an operator runs it (no STREAMCTL_DB: it finds the installed database). */
  sc(args: string[], input?: string): Run {
    const r = spawnSync(join(this.prefix, 'bin', 'streamctl'), args, {
      env: cleanEnv(),
      encoding: 'utf8',
      input,
      cwd: '/',
      timeout: 30_000,
    });
    if (r.error) throw new Error(`streamctl ${args.join(' ')}: ${r.error.message}`);
    return { stdout: r.stdout, stderr: r.stderr, status: r.status };
  }

  /** The installed CLI with --json; throws with stderr on failure. */
  scJson<T = any>(args: string[]): T {
    const r = this.sc([...args, '--json']);
    if (r.status !== 0) throw new Error(`streamctl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Runs the CLI and throws unless it succeeded. */
  ok(args: string[], input?: string): string {
    const r = this.sc(args, input);
    if (r.status !== 0) throw new Error(`streamctl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  }

  /**
   * Creates a user and returns its first stream key. Its external id (the site's id, the only
   * namespace viewer ids are matched in) is its name, so a token for viewer <name> is the owner's.
   */
  user(name: string): string {
    return this.scJson<{ key: string }>(['user', 'add', name, '--external-id', name]).key;
  }

  events(
    kind?: string,
  ): { at: string; kind: string; outcome: string; reason: string; user: string | null; ip: string | null; detail: string | null }[] {
    return this.scJson(['events', '--limit', '1000', ...(kind ? ['--kind', kind] : [])]);
  }

  /** MistServer's own API (loopback needs no login). */
  async api(body: Record<string, unknown>): Promise<any> {
    const res = await fetch(API, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return res.json();
  }

  /** Streams MistServer has active right now. */
  async active(): Promise<string[]> {
    const a = (await this.api({ active_streams: true })).active_streams;
    return Array.isArray(a) ? a : a && typeof a === 'object' ? Object.keys(a) : [];
  }

  /** MistServer's log so far (its own file, written by the controller). */
  log(): string {
    const r = spawnSync('cat', [join(this.mistDir, 'mist.log')], { encoding: 'utf8' });
    return r.stdout;
  }

  track(p: ChildProcess): void {
    this.procs.add(p);
    p.on('exit', () => this.procs.delete(p));
  }

  /** A live push with ffmpeg (small test pattern and tone, real time) until `seconds` or kill(). */
  /** `size`: the picture's, to tell two encoders apart in what viewers get. */
  push(proto: 'rtmp' | 'srt' | 'rtsp', key: string, seconds = 60, size = '160x120'): Pusher {
    const input = ['-re', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=15`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
    const enc = [
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-g',
      '15',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '32k',
    ];
    const out =
      proto === 'rtmp'
        ? ['-f', 'flv', `rtmp://127.0.0.1/live/${key}`]
        : proto === 'srt'
          ? ['-f', 'mpegts', `srt://127.0.0.1:8889?streamid=${key}`]
          : ['-f', 'rtsp', '-rtsp_transport', 'tcp', `rtsp://127.0.0.1:5554/${key}`];
    const p = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...input, ...enc, ...out], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.track(p);
    return new Pusher(p);
  }

  /** A progressive MPEG-TS viewer (curl) of `stream`; ends at maxSeconds unless MistServer ends it first. */
  /** `http`: another server's HTTP output (an edge of the origin + edges lab). */
  viewTs(stream: string, query = '', maxSeconds = 3, http = HTTP): Viewer {
    const p = curlViewer(`${http}/${encodeURIComponent(stream)}.ts${query}`, maxSeconds);
    this.track(p.proc);
    return p;
  }

  /**
   * A progressive FLV viewer. On an edge, MistServer 3.10's progressive TS of a copy first pulled in
   * the stream's first seconds live can answer 200 and send nothing for as long as the copy exists,
   * while FLV and HLS of the same copy play (docs/deployment.md): the lab's watchers use FLV.
   */
  viewFlv(stream: string, query = '', maxSeconds = 3, http = HTTP): Viewer {
    const p = curlViewer(`${http}/${encodeURIComponent(stream)}.flv${query}`, maxSeconds);
    this.track(p.proc);
    return p;
  }

  /** Fetches an HLS playlist the way a player does (curl); follows the master to the first media playlist and its first segment. */
  hls(stream: string, query = '', http = HTTP): HlsResult {
    const get = (url: string) => {
      const r = spawnSync('curl', ['-s', '--max-time', '8', '-w', '\n%{http_code} %{size_download}', url], { encoding: 'latin1' });
      const tail = r.stdout.lastIndexOf('\n');
      const [code = 0, bytes = 0] = r.stdout
        .slice(tail + 1)
        .split(' ')
        .map(Number);
      return { body: r.stdout.slice(0, tail), code, bytes };
    };
    const base = `${http}/hls/${stream}/`;
    const master = get(`${base}index.m3u8${query}`);
    const result: HlsResult = { code: master.code, playlist: master.body, error: master.body.includes('#EXT-X-ERROR'), segmentBytes: 0 };
    if (result.error || master.code !== 200) return result;
    const next = (text: string) =>
      text
        .split('\n')
        .find((l) => l.trim() !== '' && !l.startsWith('#'))
        ?.trim();
    const abs = (u: string, dir: string) => (/^https?:/.test(u) ? u : u.startsWith('/') ? `${http}${u}` : `${dir}${u}`);
    const media = next(master.body);
    if (!media) return result;
    const mediaUrl = abs(media, base);
    const list = get(mediaUrl);
    result.error = list.body.includes('#EXT-X-ERROR');
    const seg = next(list.body);
    if (seg) result.segmentBytes = get(abs(seg, mediaUrl.slice(0, mediaUrl.lastIndexOf('/') + 1))).bytes;
    return result;
  }

  /** Plays `url` with ffmpeg for up to `seconds` and returns the frames it decoded. */
  async play(url: string, seconds = 2): Promise<number> {
    const p = spawn(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-rw_timeout', '8000000', '-i', url, '-t', String(seconds), '-map', '0:v:0?', '-f', 'null', '-'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.track(p);
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    await new Promise((r) => p.on('exit', r));
    const frames = [...err.matchAll(/frame=\s*(\d+)/g)].map((m) => Number(m[1]));
    return frames.at(-1) ?? 0;
  }
}

export interface HlsResult {
  code: number;
  playlist: string;
  /** MistServer refuses an HLS viewer with 200 and #EXT-X-ERROR in the playlist. */
  error: boolean;
  segmentBytes: number;
}

export class Pusher {
  stderr = '';
  readonly exited: Promise<{ code: number | null; at: number }>;
  constructor(readonly proc: ChildProcess) {
    proc.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((r) => proc.on('exit', (code) => r({ code, at: Date.now() })));
  }
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
  /** Ends the push the way an encoder stops (SIGINT: ffmpeg closes the connection cleanly). */
  async end(): Promise<void> {
    if (this.running) this.proc.kill('SIGINT');
    await this.exited;
  }
}

/**
 * A viewer: curl with the body on its stdout (counted here as it arrives, so a test can ask whether
 * bytes are still arriving: MistServer can answer 200 and send nothing) and its status and total on
 * stderr. `args` go before the URL (e.g. --interface); `wrap` runs curl inside something (a lab node).
 */
export function curlViewer(url: string, maxSeconds: number, args: string[] = [], wrap: string[] = []): Viewer {
  const curl = ['curl', '-sS', ...args, '-o', '-', '-w', '%{stderr}\n%{http_code} %{size_download}', '--max-time', String(maxSeconds), url];
  const [cmd, ...rest] = [...wrap, ...curl];
  return new Viewer(spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], detached: wrap.length > 0 }));
}

export class Viewer {
  /** Body bytes received so far. */
  received = 0;
  /** curl's own error, once it ended ('' when none: e.g. "Operation timed out" is how a watcher ends). */
  error = '';
  readonly done: Promise<{ code: number; bytes: number; at: number }>;
  constructor(readonly proc: ChildProcess) {
    let status = '';
    proc.stdout!.on('data', (d: Buffer) => (this.received += d.length));
    proc.stderr!.on('data', (d) => (status += d));
    // 'close', not 'exit': the status line on stderr may still be in the pipe when the process exits.
    this.done = new Promise((r) =>
      proc.on('close', () => {
        const lines = status.trim().split('\n');
        const [code] = (lines.at(-1) ?? '').split(' ').map(Number);
        this.error = lines.slice(0, -1).join(' ').trim();
        r({ code: code || 0, bytes: this.received, at: Date.now() });
      }),
    );
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves once `more` bytes beyond what it had arrived (a viewer that is really watching); throws after `ms`. */
  async receives(more = 1000, ms = 10_000): Promise<void> {
    const from = this.received;
    await waitFor(`${more} more bytes to a viewer (had ${from})`, () => this.received - from >= more, ms, 100);
  }

  /** Ends it (and, when run inside a lab node, everything in its group). */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    try {
      process.kill(this.proc.spawnargs[0] === 'curl' ? this.proc.pid! : -this.proc.pid!, signal);
    } catch {
      // gone already
    }
  }
}

/** True when the real server is there to test against. */
export const haveMist = existsSync(join(MIST, 'isolated.sh'));
