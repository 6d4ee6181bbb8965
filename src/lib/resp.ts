// A minimal Redis client (RESP2) for the edge's trigger hot path: one socket, commands written as
// RESP arrays, replies parsed in order. No library: ioredis / node-redis cost ~33 ms of module
// loading per trigger spawn (measured), more than the whole admission read. Only what
// the edge and the relay need: call, pipeline (one write, replies in order), AUTH, a timeout.
import { createConnection, type Socket } from 'node:net';

/** A reply: bulk/simple string, integer, nil, array (nested), or an error reply inside an array. */
export type RespValue = string | number | null | RespValue[] | Error;

/** An error reply from Redis itself (WRONGTYPE, NOSCRIPT, MASTERDOWN…): the message is Redis's text. */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisReplyError';
  }
}

/** A connected client; every failure (connect, timeout, closed) names the target. */
export interface RedisClient {
  /** One command; an error reply rejects with a RedisReplyError. */
  call(...args: (string | number)[]): Promise<RespValue>;
  /** Several commands in one write; replies in order, an error reply becomes an Error in the array. */
  pipeline(cmds: (string | number)[][]): Promise<RespValue[]>;
  /** Closes the socket; pending and later calls reject. */
  close(): void;
}

export interface ConnectOptions {
  /** Budget for connecting, and for each call / pipeline to be answered (default 1000 ms). */
  timeoutMs?: number;
  /** Sent with AUTH right after connecting (never appears in an error message). */
  password?: string;
}

const CRLF = Buffer.from('\r\n');

/** One command as a RESP array of bulk strings (binary-safe: lengths are in bytes). */
function encode(args: (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const b = Buffer.from(typeof arg === 'number' ? String(arg) : arg, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

/** An array whose items are still arriving. */
interface OpenArray {
  items: RespValue[];
  count: number;
}

/**
 * An incremental RESP2 reply parser: feed it the socket's chunks, it returns the replies they
 * complete. Linear in the reply's size however it is split: parsed items are never parsed again
 * (open arrays are kept on a stack), and while a bulk string of known length is incomplete its
 * chunks are held back and joined once, not copied on every chunk.
 */
export class RespParser {
  /** Bytes received but not yet parsed (a partial line or a partial bulk string). */
  private buf: Buffer = Buffer.alloc(0);
  /** Chunks held back while `buf` lacks the `need` bytes a bulk string needs. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private need = 0;
  private readonly open: OpenArray[] = [];

  /** The complete top-level replies `chunk` finishes, in order; throws on bytes that are not RESP. */
  push(chunk: Buffer): RespValue[] {
    if (this.need > 0 && this.buf.length + this.heldBytes + chunk.length < this.need) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      return [];
    }
    const parts = [this.buf, ...this.held, chunk].filter((b) => b.length > 0);
    this.buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.held = [];
    this.heldBytes = 0;
    this.need = 0;
    const done: RespValue[] = [];
    let pos = 0;
    for (;;) {
      const step = this.step(pos);
      if (step === undefined) break;
      pos = step.next;
      if (step.value !== undefined) this.complete(step.value, done);
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    return done;
  }

  /** True when no reply is partly received. */
  get idle(): boolean {
    return this.buf.length === 0 && this.heldBytes === 0 && this.open.length === 0;
  }

  /** Adds a finished value to the innermost open array, closing arrays it fills, or to `done`. */
  private complete(value: RespValue, done: RespValue[]): void {
    let v = value;
    for (;;) {
      const top = this.open[this.open.length - 1];
      if (!top) {
        done.push(v);
        return;
      }
      top.items.push(v);
      if (top.items.length < top.count) return;
      this.open.pop();
      v = top.items;
    }
  }

  /**
   * One element at `pos`: a value, or an array header (value undefined: the array is now open);
   * undefined when the buffer does not hold all of it yet.
   */
  private step(pos: number): { value: RespValue | undefined; next: number } | undefined {
    const buf = this.buf;
    if (pos >= buf.length) return undefined;
    const lineEnd = buf.indexOf(CRLF, pos);
    if (lineEnd < 0) return undefined;
    const type = buf[pos];
    const line = buf.toString('utf8', pos + 1, lineEnd);
    const after = lineEnd + 2;
    switch (type) {
      case 0x2b: // '+'
        return { value: line, next: after };
      case 0x2d: // '-'
        return { value: new RedisReplyError(line), next: after };
      case 0x3a: // ':'
        return { value: Number(line), next: after };
      case 0x24: {
        // '$'
        const len = Number(line);
        if (len < 0) return { value: null, next: after };
        if (buf.length < after + len + 2) {
          // Counted from `pos`, where the unparsed bytes will start.
          this.need = after - pos + len + 2;
          return undefined;
        }
        return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
      }
      case 0x2a: {
        // '*'
        const count = Number(line);
        if (count < 0) return { value: null, next: after };
        if (count === 0) return { value: [], next: after };
        this.open.push({ items: [], count });
        return { value: undefined, next: after };
      }
      default:
        throw new Error(`unexpected RESP type byte 0x${(type ?? 0).toString(16)}`);
    }
  }
}

interface Pending {
  /** How many replies this request waits for. */
  count: number;
  replies: RespValue[];
  resolve: (replies: RespValue[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Connects to a unix socket path (starts with '/') or 'host:port'. */
export function connectRedis(target: string, opts: ConnectOptions = {}): Promise<RedisClient> {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const fail = (what: string) => new Error(`redis ${target}: ${what}`);
  let socket: Socket;
  if (target.startsWith('/')) {
    socket = createConnection({ path: target });
  } else {
    const colon = target.lastIndexOf(':');
    const port = Number(target.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return Promise.reject(fail('not a socket path or host:port'));
    socket = createConnection({ host: target.slice(0, colon).replace(/^\[|\]$/g, ''), port });
    socket.setNoDelay(true);
  }

  const queue: Pending[] = [];
  const parser = new RespParser();
  let closedError: Error | undefined;

  /** Ends everything: the socket, and every pending request with `err`. */
  const shutdown = (err: Error) => {
    if (closedError) return;
    closedError = err;
    socket.destroy();
    for (const p of queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  };

  socket.on('data', (chunk: Buffer) => {
    let replies: RespValue[];
    try {
      replies = parser.push(chunk);
    } catch (err) {
      shutdown(fail((err as Error).message));
      return;
    }
    for (const reply of replies) {
      const head = queue[0];
      // A reply nobody asked for would answer the next request with the wrong data: end instead.
      if (!head) return shutdown(fail('a reply to no request'));
      head.replies.push(reply);
      if (head.replies.length === head.count) {
        queue.shift();
        clearTimeout(head.timer);
        head.resolve(head.replies);
      }
    }
  });
  socket.on('error', (err: NodeJS.ErrnoException) => shutdown(fail(err.code ?? err.message)));
  socket.on('close', () => shutdown(fail('connection closed')));

  const send = (cmds: (string | number)[][]): Promise<RespValue[]> => {
    if (closedError) return Promise.reject(closedError);
    if (cmds.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => shutdown(fail(`no answer within ${timeoutMs} ms`)), timeoutMs);
      queue.push({ count: cmds.length, replies: [], resolve, reject, timer });
      socket.write(Buffer.concat(cmds.map(encode)));
    });
  };

  const client: RedisClient = {
    async call(...args) {
      const [reply] = await send([args]);
      if (reply instanceof Error) throw reply;
      return reply as RespValue;
    },
    pipeline: send,
    close() {
      shutdown(fail('connection closed'));
    },
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => shutdown(fail(`could not connect within ${timeoutMs} ms`)), timeoutMs);
    const onEarlyClose = () => {
      clearTimeout(timer);
      reject(closedError ?? fail('connection closed'));
    };
    socket.once('close', onEarlyClose);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('close', onEarlyClose);
      if (opts.password === undefined) return resolve(client);
      client.call('AUTH', opts.password).then(
        () => resolve(client),
        (err: Error) => reject(err instanceof RedisReplyError ? (client.close(), fail(`AUTH refused: ${err.message}`)) : err),
      );
    });
  });
}
