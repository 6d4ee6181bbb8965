// How an edge's programs reach Redis, for every edge module, the edge runner that opens the
// connections (runtime/run-edge-trigger.ts) and the edge trigger contract (triggers/types.ts).
import type { RedisClient } from '../lib/resp';

/** How the edge reaches Redis: its local replica, and the origin's primary (for the cap only). */
export interface EdgeRedis {
  replica(): Promise<RedisClient>;
  /** Connects (or reuses a connection) within `timeoutMs`. */
  primary(timeoutMs: number): Promise<RedisClient>;
}
