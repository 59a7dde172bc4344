/**
 * A Lua script run atomically by Redis: EVALSHA, and EVAL once when Redis does not know it
 * yet (after a restart or SCRIPT FLUSH).
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.js';

export type Script = (redis: RedisClient, keys: string[], args: Array<string | number>) => Promise<unknown>;

export function luaScript(source: string): Script {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
