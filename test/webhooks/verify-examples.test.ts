// The Python and PHP verification functions of docs/webhooks.md, taken from the page as written,
// run on a real delivery (the sender's POST to a local receiver): they accept it and refuse it
// with one byte of the body changed, a wrong secret and an old timestamp. Skipped without python3
// or php.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueWebhookEvent } from '../../src/store/webhooks';
import { signedHeaders } from '../../src/webhooks/signing';
import { ROOT, tempDir } from '../support/helpers';
import { cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { startReceiver, type Receiver } from './receiver';

const page = readFileSync(join(ROOT, 'docs', 'webhooks.md'), 'utf8');
const block = (lang: string) => {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(page);
  if (!m) throw new Error(`docs/webhooks.md has no ${lang} block`);
  return m[1]!;
};
const has = (program: string) => spawnSync(program, ['--version']).status === 0;

interface Case {
  secret: string;
  headers: Record<string, string>;
  body: string;
}

let receiver: Receiver;
let real: Case;
beforeAll(async () => {
  receiver = await startReceiver();
  const db = memoryDb();
  const { secret } = await cliJson(db, ['webhook', 'add', receiver.url]);
  const now = Date.now();
  enqueueWebhookEvent(db, {
    type: 'stream.live',
    at: now,
    channel: 'alice',
    userId: null,
    data: { stream: 'streams+alice', note: 'ünïcode ✓' },
    now,
  });
  expect((await cli(db, ['webhook', 'deliver', '--once'])).status).toBe(0);
  const r = receiver.received[0]!;
  real = {
    secret,
    body: r.body,
    headers: Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(r.headers[h])])),
  };
});
afterAll(() => receiver.close());

/** The variants every example must accept (the real one) or refuse. */
function cases(): [string, Case, boolean][] {
  const key = real.secret.slice('whsec_'.length);
  const old = signedHeaders(key, real.headers['webhook-id']!, Date.now() - 600_000, real.body);
  return [
    ['the real delivery', real, true],
    ['one byte of the body changed', { ...real, body: real.body.replace('alice', 'alicf') }, false],
    ['another secret', { ...real, secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }, false],
    ['signed 10 minutes ago', { ...real, headers: old }, false],
  ];
}

/** Runs the example once over every case (one process: python3 behind pyenv starts slowly); one line per case. */
function runExample(command: 'python3' | 'php', driver: string, all: Case[]): string[] {
  const file = join(tempDir(), 'cases.json');
  writeFileSync(file, JSON.stringify(all));
  const r = spawnSync(command, [command === 'php' ? '-r' : '-c', driver.replace('CASES', file)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n');
}

describe("the docs' verification examples", () => {
  it.runIf(has('python3'))('Python: accepts the real delivery, refuses a tampered, foreign or old one', () => {
    const driver = `${block('python')}
for c in json.load(open("CASES")):
    try:
        print("accepted " + verify(c["secret"], c["headers"], c["body"].encode())["type"])
    except ValueError as e:
        print("refused: " + str(e))
`;
    const all = cases();
    const lines = runExample(
      'python3',
      driver,
      all.map(([, c]) => c),
    );
    expect(lines.map((l, i) => [all[i]![0], l])).toEqual(
      all.map(([what, , accept]) => [what, accept ? 'accepted stream.live' : expect.stringMatching(/^refused: /)]),
    );
  });

  it.runIf(has('php'))('PHP: accepts the real delivery, refuses a tampered, foreign or old one', () => {
    const driver = `${block('php').replace(/^\/\/.*$/m, '')}
foreach (json_decode(file_get_contents("CASES"), true) as $c) {
    try { $type = verify_webhook($c["secret"], $c["headers"], $c["body"])["type"]; echo "accepted $type\\n"; }
    catch (RuntimeException $e) { echo "refused: ", $e->getMessage(), "\\n"; }
}
`;
    const all = cases();
    const lines = runExample(
      'php',
      driver,
      all.map(([, c]) => c),
    );
    expect(lines.map((l, i) => [all[i]![0], l])).toEqual(
      all.map(([what, , accept]) => [what, accept ? 'accepted stream.live' : expect.stringMatching(/^refused: /)]),
    );
  });
});
