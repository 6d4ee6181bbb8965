// channelForStream: which channel a stream name belongs to (live base or VoD base + recording id).
import { describe, expect, it } from 'vitest';
import { channelForStream } from '../../src/live/stream-channel';
import { nowSec, record, setup } from '../recordings/support';

describe('channelForStream', () => {
  it('resolves vod+<id> to the recording channel with kind vod', async () => {
    const { db, root, alice } = await setup();
    const { id } = record(db, root, alice, nowSec() - 100);
    expect(channelForStream(db, `vod+${id}`, 'streams')).toEqual({
      userId: alice,
      userName: 'alice',
      disabled: false,
      kind: 'vod',
      recordingId: id,
    });
    expect(channelForStream(db, 'streams+alice', 'streams')).toMatchObject({ kind: 'live', userId: alice });
    expect(channelForStream(db, 'vod+aaaaaaaaaaaaaaaa', 'streams')).toBeNull();
    expect(channelForStream(db, `replay+${id}`, 'streams', 'replay')).toMatchObject({ kind: 'vod', recordingId: id });
    db.prepare('UPDATE recordings SET deleting_at = 1 WHERE id = ?').run(id);
    expect(channelForStream(db, `vod+${id}`, 'streams')).toBeNull();
  });
});
