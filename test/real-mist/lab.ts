// The origin + edges lab (lab.sh) for the real-server layer: the edges' namespaces, their
// Redis replicas and MistServers, MistUtilLoad in front. The origin is this process's own namespace
// (isolated.sh's), so the origin is a plain RealMist; an edge is a streamctl install whose CLI and
// MistServer API are reached inside its namespace (nsenter, through lab.sh exec).
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, curlViewer, REPO, type Run, type Viewer } from './harness';

export const LAB_SH = join(__dirname, 'lab.sh');
export type EdgeName = 'edge1' | 'edge2';
export const EDGES: readonly EdgeName[] = ['edge1', 'edge2'];
/** Addresses on the LAN (media, viewers, APIs) and on each edge's replication link (lab.sh's header). */
export const LAN = { origin: '10.14.0.1', edge1: '10.14.0.2', edge2: '10.14.0.3' } as const;
export const REPL_ORIGIN = { edge1: '10.14.1.1', edge2: '10.14.2.1' } as const;
/** The address the origin's relay calls each edge's MistServer API on (lab.sh api takes it away). */
export const API_ADDR = { edge1: '10.14.0.12', edge2: '10.14.0.13' } as const;
export const LB = 'http://127.0.0.1:8042';

export class Lab {
  readonly dir = mkdtempSync(join(tmpdir(), 'streamctl-lab-'));

  /** The edges, their Redis (and the origin's), MistUtilLoad; the origin's MistServer is the caller's. */
  up(): void {
    const r = spawnSync('bash', [LAB_SH, 'up', this.dir], {
      env: { ...process.env, LAB_ORIGIN_MIST: '0' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`lab.sh up failed: ${r.stderr}${r.stdout}`);
  }

  down(): void {
    spawnSync('bash', [LAB_SH, 'down', this.dir], { timeout: 60_000 });
    if (!process.env.KEEP_REAL_MIST) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs a program inside an edge's namespace. */
  exec(
    node: EdgeName,
    cmd: string,
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {},
  ): SpawnSyncReturns<string> {
    return spawnSync('bash', [LAB_SH, 'exec', this.dir, node, cmd, ...args], {
      encoding: 'utf8',
      env: opts.env ?? process.env,
      input: opts.input,
      timeout: opts.timeout ?? 30_000,
    });
  }

  /** Cuts or restores an edge's link to the origin's Redis (media and viewers keep theirs). */
  link(edge: EdgeName, state: 'up' | 'down'): void {
    const r = spawnSync('bash', [LAB_SH, 'link', this.dir, edge, state], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lab.sh link ${edge} ${state}: ${r.stderr}`);
  }

  /** Cuts or restores everything between an edge and the origin (DTSC, Redis, API); the other edge still reaches it. */
  cut(edge: EdgeName, state: 'up' | 'down'): void {
    const r = spawnSync('bash', [LAB_SH, 'cut', this.dir, edge, state], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lab.sh cut ${edge} ${state}: ${r.stderr}`);
  }

  /** Takes away or gives back the address the origin calls an edge's API on. */
  apiAddress(edge: EdgeName, state: 'up' | 'down'): void {
    const r = spawnSync('bash', [LAB_SH, 'api', this.dir, edge, state], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lab.sh api ${edge} ${state}: ${r.stderr}`);
  }

  /** Starts a long-running program inside a node, in its own process group (kill it with process.kill(-pid)). */
  spawn(node: EdgeName, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    return spawn('bash', [LAB_SH, 'exec', this.dir, node, cmd, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** A progressive viewer run inside a node (e.g. edge2 watching edge1 while edge1 has lost the origin). */
  viewer(node: EdgeName, url: string, maxSeconds: number): Viewer {
    return curlViewer(url, maxSeconds, [], ['bash', LAB_SH, 'exec', this.dir, node]);
  }

  /** An HLS playlist request from inside a node: refused (#EXT-X-ERROR, or no answer) or not. */
  refusedFrom(node: EdgeName, url: string): boolean {
    const r = this.exec(node, 'curl', ['-s', '--max-time', '8', '-w', '\n%{http_code}', url]);
    const code = Number(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1));
    return code !== 200 || r.stdout.includes('#EXT-X-ERROR');
  }

  /** A node's Redis unix socket (the origin's primary, an edge's replica). */
  redisSocket(node: 'origin' | EdgeName): string {
    return join(this.dir, node, 'redis.sock');
  }

  /** The origin's redis-server (to SIGSTOP it). */
  redisPid(node: 'origin' | EdgeName): number {
    return Number(readFileSync(join(this.dir, node, 'redis.pid'), 'utf8').trim());
  }

  /** redis-cli against a node's socket (from here: sockets are files, no namespace needed). */
  redis(node: 'origin' | EdgeName, ...args: string[]): string {
    const r = spawnSync('redis-cli', ['-s', this.redisSocket(node), ...args], { encoding: 'utf8', timeout: 10_000 });
    return (r.stdout ?? '').trim();
  }

  /** redis-cli without blocking this process (for polling while something else runs). */
  redisAsync(node: 'origin' | EdgeName, ...args: string[]): Promise<string> {
    return new Promise((resolve) =>
      execFile('redis-cli', ['-s', this.redisSocket(node), ...args], { timeout: 10_000 }, (_err, stdout) =>
        resolve(String(stdout ?? '').trim()),
      ),
    );
  }

  /** MistUtilLoad's answer for a stream: status and Location (not followed). */
  balance(stream: string, query: string): { code: number; location: string } {
    const r = spawnSync(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `${LB}/${encodeURIComponent(stream)}${query}`],
      { encoding: 'utf8', timeout: 10_000 },
    );
    const [code = '0', ...rest] = r.stdout.split(' ');
    return { code: Number(code), location: rest.join(' ') };
  }
}

/** Sets key=value lines in an installed streamctl.conf (replacing the key when present). */
export function setConf(prefix: string, values: Record<string, string>): void {
  const path = join(prefix, 'lib', 'streamctl', 'streamctl.conf');
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // a fresh file
  }
  const lines = text.split('\n').filter((l) => l !== '' && !Object.keys(values).some((k) => l.startsWith(`${k}=`)));
  writeFileSync(path, [...lines, ...Object.entries(values).map(([k, v]) => `${k}=${v}`)].join('\n') + '\n');
}

/** An edge: streamctl installed for it, its MistServer (lab.sh started it) set up by `mist apply --role edge`. */
export class Edge {
  readonly prefix: string;
  readonly http: string;
  readonly api: string;
  constructor(
    readonly lab: Lab,
    readonly name: EdgeName,
  ) {
    this.prefix = join(lab.dir, name, 'prefix');
    this.http = `http://${LAN[name]}:8080`;
    this.api = `http://${API_ADDR[name]}:4242/api`;
  }

  /**
   * install.sh ROLE=edge: streamctl.conf names the origin, this edge's replica and the origin's
   * primary, and where the origin's recordings are (the namespaces share the filesystem, as a real
   * site's edges mount the origin's recordings folder).
   */
  install(recordingsRoot: string): void {
    const env = {
      PREFIX: this.prefix,
      SKIP_BUILD: '1',
      ROLE: 'edge',
      ORIGIN: LAN.origin,
      REDIS_REPLICA: this.lab.redisSocket(this.name),
      REDIS_PRIMARY: `${REPL_ORIGIN[this.name]}:6379`,
      RECORDINGS_ROOT: recordingsRoot,
    };
    const inst = spawnSync('bash', [join(REPO, 'install.sh')], { env: cleanEnv(env), encoding: 'utf8' });
    if (inst.status !== 0) throw new Error(`install.sh (${this.name}) failed: ${inst.stderr}${inst.stdout}`);
  }

  /** The edge's installed CLI, run inside its namespace (its MistServer API is its own 127.0.0.1). */
  sc(args: string[], input?: string): Run {
    const r = this.lab.exec(this.name, join(this.prefix, 'bin', 'streamctl'), args, { env: cleanEnv(), input });
    if (r.error) throw new Error(`${this.name}: streamctl ${args.join(' ')}: ${r.error.message}`);
    return { stdout: r.stdout, stderr: r.stderr, status: r.status };
  }

  ok(args: string[]): string {
    const r = this.sc(args);
    if (r.status !== 0) throw new Error(`${this.name}: streamctl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  }

  /** The stream's tags on this edge's MistServer. */
  tags(stream: string): string[] {
    const t = this.mistApi({ stream_tags: [stream] })?.stream_tags?.[stream];
    return Array.isArray(t) ? t : [];
  }

  /** The edge's MistServer API, from inside its namespace (loopback: no login). */
  mistApi(body: Record<string, unknown>): any {
    const r = this.lab.exec(this.name, 'curl', [
      '-s',
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify(body),
      'http://127.0.0.1:4242/api',
    ]);
    return JSON.parse(r.stdout || 'null');
  }

  /** MistServer's log on this edge. */
  log(): string {
    try {
      return readFileSync(join(this.lab.dir, this.name, 'mist', 'mist.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Appends to the edge's streamctl.conf (e.g. to break it for a test); returns a restore function. */
  breakConf(line: string): () => void {
    const path = join(this.prefix, 'lib', 'streamctl', 'streamctl.conf');
    const before = readFileSync(path, 'utf8');
    appendFileSync(path, `${line}\n`);
    return () => writeFileSync(path, before);
  }
}
