// `mist apply --role` on the real MistServer, one server turned origin, then edge, then back
// (the full origin + two edges proof is the three-namespace lab's): what MistServer keeps of each
// role's setup, that an origin's DTSC output serves edges from a non-loopback address, that a DTSC
// pull runs no USER_NEW (why the port must be firewalled), what an edge asks its origin for, and
// that an edge refuses every push. 198.18.0.1 is isolated.sh's second address on this namespace's
// loopback: a "remote" address that is not 127.0.0.1.
import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealMist, sleep, waitFor, type Pusher } from './harness';

const mist = new RealMist();
const METRICS = 'streamctl-metrics';
const REMOTE = '198.18.0.1';
let alicePush: Pusher | undefined;
let aliceKey = '';

async function userNewRuns(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:4242/${METRICS}`)).text();
  const m = text.match(/^mist_trigger_count\{trigger="USER_NEW"\}\s*(\d+)/m);
  return m ? Number(m[1]) : 0;
}

/** A DTSC command as MistServer's DTSC input sends it: "DTCM", a 4-byte length, a DTSC-packed object of strings. */
function dtcm(fields: Record<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.from([0xe0])];
  for (const [k, v] of Object.entries(fields)) {
    const key = Buffer.from(k);
    const val = Buffer.from(v);
    const head = Buffer.alloc(2 + key.length + 5);
    head.writeUInt16BE(key.length, 0);
    key.copy(head, 2);
    head[2 + key.length] = 0x02;
    head.writeUInt32BE(val.length, 3 + key.length);
    parts.push(head, val);
  }
  parts.push(Buffer.from([0x00, 0x00, 0xee]));
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([Buffer.from('DTCM'), len, body]);
}

/** Plays `stream` over DTSC from `from` as an edge does; resolves with the bytes received and whether media packets came. */
function dtscPull(stream: string, from: string, ms: number): Promise<{ bytes: number; media: boolean }> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const sock = createConnection({ host: REMOTE, port: 4200, localAddress: from }, () =>
      sock.write(dtcm({ cmd: 'play', stream, version: 'streamctl-test' })),
    );
    sock.on('data', (d: Buffer) => {
      if (got.length < 1_000_000) got = Buffer.concat([got, d]);
    });
    sock.on('error', reject);
    setTimeout(() => {
      sock.destroy();
      resolve({ bytes: got.length, media: got.includes(Buffer.from('DTP2')) });
    }, ms);
  });
}

/** A stand-in origin's DTSC port: records the first command each connection sends. */
function fakeOrigin(port: number): { server: Server; asked: string[] } {
  const asked: string[] = [];
  const server = createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // The stream name is a DTSC string: 0x02, a 4-byte length, the bytes.
      const at = buf.indexOf('stream');
      if (at >= 0 && buf.length >= at + 11) {
        const len = buf.readUInt32BE(at + 7);
        if (buf.length >= at + 11 + len) {
          asked.push(buf.subarray(at + 11, at + 11 + len).toString());
          c.destroy();
        }
      }
    });
    c.on('error', () => {});
  });
  server.listen(port, REMOTE);
  return { server, asked };
}

const triggers = async () =>
  (await mist.api({ config: true })).config.triggers as Record<
    string,
    { handler: string; default?: string; sync: boolean; streams: string[] }[]
  >;

beforeAll(async () => {
  await mist.start();
  await mist.api({ config: { prometheus: METRICS } });
  aliceKey = mist.user('alice');
  mist.ok(['channel', 'set', 'alice', '--access', 'private']);
});
afterAll(async () => {
  await alicePush?.end();
  await mist.stop();
});

describe('origin', () => {
  it('gets its loopback DTSC output moved to every interface; an edge-side DTSC pull from another address plays without USER_NEW', async () => {
    // A DTSC output on loopback only (as start.sh binds every protocol) is moved, not duplicated.
    await mist.api({ addprotocol: { connector: 'DTSC', interface: '127.0.0.1' } });
    const apply = mist.sc(['mist', 'apply', '--role', 'origin']);
    expect(apply.stderr).toBe('');
    expect(apply.stdout).toContain('~ protocol DTSC: 127.0.0.1 port 4200 → every interface (edges cannot reach loopback)');
    const dtsc = ((await mist.api({ config: true })).config.protocols as { connector: string }[]).filter((p) => p.connector === 'DTSC');
    expect(dtsc.map(({ online: _o, ...p }: Record<string, unknown>) => p)).toEqual([{ connector: 'DTSC' }]);
    expect(apply.stdout).toMatch(/! DTSC .* without USER_NEW: let only the edges reach it \(firewall\)/);
    expect(mist.sc(['mist', 'apply', '--role', 'origin', '--dry-run']).status).toBe(0);
    await waitFor(
      'DTSC connector online',
      async () =>
        ((await mist.api({ config: true })).config.protocols as { connector: string; online: unknown }[]).some(
          (p) => p.connector === 'DTSC' && p.online === 1,
        ),
      20_000,
    );

    alicePush = mist.push('rtmp', aliceKey, 300);
    await waitFor('alice live', () => mist.scJson(['status', 'alice']).state === 'live', 30_000);
    // A private channel: a viewer without a token is refused by USER_NEW (the count moves).
    const before = await userNewRuns();
    expect(mist.hls('streams+alice').error).toBe(true);
    await waitFor('USER_NEW ran for the HLS viewer', async () => (await userNewRuns()) > before);
    const afterViewer = await userNewRuns();

    // The same private stream over DTSC from a non-loopback address: media, and no USER_NEW at all.
    const pull = await dtscPull('streams+alice', REMOTE, 3000);
    expect(pull.media).toBe(true);
    expect(pull.bytes).toBeGreaterThan(10_000);
    await sleep(1000);
    expect(await userNewRuns()).toBe(afterViewer);
    await alicePush.end();
  });
});

describe('edge', () => {
  let origin: ReturnType<typeof fakeOrigin>;
  beforeAll(() => {
    origin = fakeOrigin(4201);
  });
  afterAll(() => origin.server.close());

  it('keeps the viewer-side programs, the push guard, the live pull source and the VoD placeholder; the one-box setup is gone', async () => {
    const apply = mist.sc(['mist', 'apply', '--role', 'edge', '--origin', `${REMOTE}:4201`]);
    expect(apply.stderr).toBe('');
    expect(apply.status).toBe(0);
    const t = await triggers();
    expect(Object.keys(t).sort()).toEqual(['PUSH_REWRITE', 'STREAM_BUFFER', 'STREAM_SOURCE', 'USER_END', 'USER_NEW']);
    expect(t.USER_NEW).toEqual([
      { handler: `${mist.prefix}/lib/streamctl/bin/edge-user-new`, sync: true, default: 'false', streams: ['!#open'] },
    ]);
    expect(t.USER_END![0]).toMatchObject({ handler: `${mist.prefix}/lib/streamctl/bin/edge-user-end`, sync: false });
    expect(t.STREAM_BUFFER![0]).toMatchObject({ handler: `${mist.prefix}/lib/streamctl/bin/edge-stream-buffer`, sync: false });
    expect(t.STREAM_SOURCE).toEqual([
      { handler: `${mist.prefix}/lib/streamctl/bin/edge-stream-source`, sync: true, default: '?streamctl-refused', streams: [] },
    ]);
    expect(t.PUSH_REWRITE).toEqual([{ handler: '', sync: true, default: '?streamctl-refused', streams: [] }]);
    const streams = (await mist.api({ streams: true })).streams as Record<string, { source: string }>;
    expect(streams.streams!.source).toBe(`dtsc://${REMOTE}:4201`);
    // Recordings play from shared storage (the edge's STREAM_SOURCE), not over DTSC: the placeholder.
    expect(streams.vod!.source).toBe(mist.ok(['config', 'get', 'vod-placeholder']).trim());
    const pushes = await mist.api({ push_auto_list: true });
    expect(Object.keys(pushes.auto_push ?? {}).length + (pushes.push_auto_list ?? []).length).toBe(0);
    expect((await mist.api({ jwks: true })).jwks ?? []).toEqual([]);
    expect(mist.sc(['mist', 'apply', '--role', 'edge', '--origin', `${REMOTE}:4201`, '--dry-run']).status).toBe(0);
  });

  it('asks the origin for the very live stream a viewer asked for, and never for a recording', async () => {
    // Whatever USER_NEW answers here (there is no replica), MistServer starts the pull to show the stream.
    mist.hls('vod+42');
    mist.hls('streams+carol');
    await waitFor('the origin asked for streams+carol', () => origin.asked.includes('streams+carol'), 20_000);
    expect(origin.asked).not.toContain('vod+42');
  });

  it('refuses every push, with a stream key or a stream name', async () => {
    const before = (mist.log().match(/Push rejected/g) ?? []).length;
    for (const target of [aliceKey, 'streams+bob']) {
      const p = mist.push('rtmp', target, 5);
      const { code } = await p.exited;
      expect(code, target).not.toBe(0);
    }
    // The guard's default names no stream: MistServer finds none to push into.
    await waitFor(
      'MistServer logged both refusals',
      () => (mist.log().match(/Push rejected - stream {2}not configured/g) ?? []).length >= before + 2,
    );
  });

  it('turns back into one box: pushes play again', async () => {
    const apply = mist.sc(['mist', 'apply', '--role', 'single']);
    expect(apply.status).toBe(0);
    expect((await triggers()).PUSH_REWRITE!.map((e) => e.handler)).toEqual([`${mist.prefix}/lib/streamctl/bin/push-rewrite`]);
    const p = mist.push('rtmp', aliceKey, 60);
    await waitFor('alice live again', () => mist.scJson(['status', 'alice']).state === 'live', 30_000);
    await p.end();
  });
});
