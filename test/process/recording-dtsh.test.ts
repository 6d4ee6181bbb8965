// MistServer writes <file>.dtsh (its header cache) beside a recording it has played as vod+<id>
// (seen on the real server: prune left it behind). Prune removes it with its recording, and scan
// does not report it as an unknown file while its recording is there.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDb, runTrigger, tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';

describe('MistServer header cache (.dtsh) beside a recording', async () => {
  it('is ignored by scan while its recording exists, reported once orphaned, and removed by prune', async () => {
    const db = freshDb();
    const root = join(tempDir('streamctl-dtsh-'), 'recordings');
    await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
    const start = Math.floor(Date.now() / 1000) - 3600;
    const path = join(root, '1', `${start}.mkv`);
    mkdirSync(join(root, '1'), { recursive: true });
    writeFileSync(path, Buffer.alloc(1024, 7));
    const payload = ['streams+alice', path, 'EBML', 1024, 20, start, start + 20, 19643, 0, 19643, 'CLEAN_EOF', 'end of stream']
      .map((l) => `${l}\n`)
      .join('');
    expect(runTrigger({ trigger: 'RECORDING_END', payload, db }).stdout).toBe('');
    writeFileSync(`${path}.dtsh`, 'DTSH');
    const other = join(root, '1', 'orphan.mkv.dtsh');
    writeFileSync(other, 'DTSH');

    const scan = await cliJson(db, ['recordings', 'scan']);
    const listed = JSON.stringify(scan);
    expect(listed).not.toContain(`${path}.dtsh`);
    expect(listed).toContain(other);

    expect(await cliJson(db, ['recordings', 'prune', '--older-than', '1s'])).toMatchObject({ deleted: 1, failed: 0 });
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.dtsh`)).toBe(false);
    expect(existsSync(other)).toBe(true); // not a pruned recording's: left alone
  });
});
