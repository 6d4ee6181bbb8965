// A committed migration has already run on installed databases: editing it changes nothing there
// and makes fresh installs differ from upgraded ones. Its checksum is recorded once, here.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const recorded = JSON.parse(readFileSync(join(root, 'test/fixtures/migration-checksums.json'), 'utf8')) as Record<string, string>;
const onDisk = readdirSync(join(root, 'db'))
  .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
  .sort();
const sha256 = (file: string) =>
  createHash('sha256')
    .update(readFileSync(join(root, 'db', file)))
    .digest('hex');

describe('committed migrations', () => {
  it('are never edited: each db/*.sql still has the checksum recorded when it was added', () => {
    const changed = Object.keys(recorded).filter((f) => !onDisk.includes(f) || sha256(f) !== recorded[f]);
    expect(changed, 'edited or removed migrations: add a new numbered migration instead').toEqual([]);
  });

  it('are all recorded: a new migration gets its checksum in test/fixtures/migration-checksums.json', () => {
    expect(onDisk.filter((f) => !(f in recorded))).toEqual([]);
  });
});
