// What both trigger runners share (src/runtime/trigger-io.ts) that can run in process.
import { describe, expect, it } from 'vitest';
import { backgroundInto } from '../../src/runtime/trigger-io';

describe('backgroundInto (ctx.background of both runners)', () => {
  it('keeps the work for answerOnce to wait on and logs what it throws as one line, never rejecting', async () => {
    const background: Promise<unknown>[] = [];
    const lines: string[] = [];
    const add = backgroundInto(background, (l) => lines.push(l));
    add(Promise.resolve('fine'));
    add(Promise.reject(new Error('udp send failed\nsecond line')));
    expect(background).toHaveLength(2);
    await expect(Promise.all(background)).resolves.toBeDefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('udp send failed');
    expect(lines[0]).not.toContain('\n');
  });
});
