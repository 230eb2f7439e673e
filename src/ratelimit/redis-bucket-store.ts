// Token buckets in Redis, so every instance draws from the same bucket per tenant. One Lua
// script reads, refills and takes atomically, on Redis's own clock (instances' clocks may differ).

import type { Redis } from 'ioredis';
import { decision, type BucketDecision, type BucketStore } from './token-bucket.js';

const TAKE = `
local capacity = tonumber(ARGV[1])
local per_ms = capacity / 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(capacity, tokens + (now - at) * per_ms) else now = at end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 61000)
return { allowed, tostring(tokens) }
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tenantryTakeToken(key: string, capacity: number): Promise<[number, string]>;
  }
}

export class RedisBucketStore implements BucketStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    redis.defineCommand('tenantryTakeToken', { numberOfKeys: 1, lua: TAKE });
  }

  async take(key: string, perMinute: number): Promise<BucketDecision> {
    const [allowed, tokens] = await this.redis.tenantryTakeToken(`${this.keyPrefix}ratelimit:${key}`, perMinute);
    return decision(allowed === 1, Number(tokens), perMinute);
  }
}
