// The RESP2 reply parser on its own (src/lib/resp.ts RespParser): replies split at every byte, as a
// socket may deliver them, parse to the same values. The client against a real redis-server is resp.test.ts.
import { describe, expect, it } from 'vitest';
import { RedisReplyError, RespParser, type RespValue } from '../../src/lib/resp';

/** Several replies back to back: every type, nesting, nil, empty, an error inside an array, bytes that look like RESP. */
const WIRE = Buffer.from(
  [
    '+OK\r\n',
    ':-42\r\n',
    '$-1\r\n',
    '$0\r\n\r\n',
    '$12\r\nline\r\n$3\r\nab\r\n', // a bulk string holding CRLF and RESP-looking text
    '$9\r\nnaïve✓\r\n', // 9 bytes of UTF-8: a split inside a character must not corrupt it
    '*-1\r\n',
    '*0\r\n',
    '*3\r\n$1\r\na\r\n*2\r\n:1\r\n*1\r\n$-1\r\n-WRONGTYPE Operation against a key\r\n',
    '-ERR unknown command\r\n',
  ].join(''),
  'utf8',
);

const EXPECTED: RespValue[] = [
  'OK',
  -42,
  null,
  '',
  'line\r\n$3\r\nab',
  'naïve✓',
  null,
  [],
  ['a', [1, [null]], new RedisReplyError('WRONGTYPE Operation against a key')],
  new RedisReplyError('ERR unknown command'),
];

/** Values with errors as plain objects, so toEqual compares their messages and kinds. */
function plain(v: RespValue): unknown {
  if (v instanceof Error) return { error: v.name, message: v.message };
  return Array.isArray(v) ? v.map(plain) : v;
}

function feed(parser: RespParser, chunks: Buffer[]): RespValue[] {
  return chunks.flatMap((c) => parser.push(c));
}

describe('RespParser', () => {
  it('parses the whole wire in one chunk', () => {
    const p = new RespParser();
    expect(p.push(WIRE).map(plain)).toEqual(EXPECTED.map(plain));
    expect(p.idle).toBe(true);
  });

  it('parses the same replies when the wire is split at any byte', () => {
    for (let i = 0; i <= WIRE.length; i++) {
      const p = new RespParser();
      const got = feed(p, [WIRE.subarray(0, i), WIRE.subarray(i)]);
      expect(got.map(plain), `split at byte ${i}`).toEqual(EXPECTED.map(plain));
      expect(p.idle).toBe(true);
    }
  });

  it('parses the same replies fed one byte at a time, each reply returned as soon as its last byte arrives', () => {
    const p = new RespParser();
    const got: RespValue[] = [];
    let firstAt = -1;
    for (let i = 0; i < WIRE.length; i++) {
      got.push(...p.push(WIRE.subarray(i, i + 1)));
      if (firstAt < 0 && got.length > 0) firstAt = i;
    }
    expect(got.map(plain)).toEqual(EXPECTED.map(plain));
    expect(firstAt).toBe('+OK\r\n'.length - 1);
  });

  it('keeps a partial reply until it is complete and returns nothing before', () => {
    const p = new RespParser();
    expect(p.push(Buffer.from('*2\r\n$5\r\nhel'))).toEqual([]);
    expect(p.idle).toBe(false);
    expect(p.push(Buffer.from('lo\r\n'))).toEqual([]);
    expect(p.push(Buffer.from(':7\r\n+next'))).toEqual([['hello', 7]]);
    expect(p.push(Buffer.from('\r\n'))).toEqual(['next']);
  });

  it('reads a large bulk string and a large array delivered in many small chunks', () => {
    const big = 'x'.repeat(3_000_000);
    const items = Array.from({ length: 50_000 }, (_, i) => `field-${i}`);
    const wire = Buffer.concat([
      Buffer.from(`$${big.length}\r\n${big}\r\n`),
      Buffer.from(`*${items.length}\r\n${items.map((f) => `$${f.length}\r\n${f}\r\n`).join('')}`),
    ]);
    const p = new RespParser();
    const got: RespValue[] = [];
    for (let i = 0; i < wire.length; i += 1000) got.push(...p.push(wire.subarray(i, i + 1000)));
    expect(got).toHaveLength(2);
    expect(got[0]).toBe(big);
    expect(got[1]).toEqual(items);
  });

  it('refuses bytes that are not RESP', () => {
    expect(() => new RespParser().push(Buffer.from('HTTP/1.1 400\r\n'))).toThrow(/unexpected RESP type byte 0x48/);
  });
});
