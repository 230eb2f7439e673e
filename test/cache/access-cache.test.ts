// The access cache's own rules, without a database: entries expire, eviction finds them by
// their tags, a load that raced an eviction stores nothing, and the oldest entry goes first
// when the cache is full. (test/tenancy/access-cache.test.ts proves what it is for.)

import { describe, expect, it } from 'vitest';
import { AccessCache } from '../../src/cache/access-cache.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

function cache(options: { maxEntries?: number } = {}) {
  let now = 0;
  const accessCache = new AccessCache({ ttlMs: () => 1_000, now: () => now, ...options });
  return { accessCache, advance: (ms: number) => (now += ms) };
}

describe('the access cache', () => {
  it('serves an entry until its TTL passes', async () => {
    const { accessCache, advance } = cache();
    await accessCache.load('member:1', () => ({ tenantId: A }), async () => 'admin');
    advance(999);
    expect(accessCache.get('member:1')).toBe('admin');
    advance(1);
    expect(accessCache.get('member:1')).toBeUndefined();
  });

  it("evicts by tag: a tenant's entries, one key's, nobody else's", async () => {
    const { accessCache } = cache();
    await accessCache.load('member:a', () => ({ tenantId: A, userId: 'u1' }), async () => 'a');
    await accessCache.load('key:k1', () => ({ tenantId: A, keyId: 'k1' }), async () => 'k1');
    await accessCache.load('key:k2', () => ({ tenantId: B, keyId: 'k2' }), async () => 'k2');
    accessCache.evict((tags) => tags.keyId === 'k2');
    expect([accessCache.get('member:a'), accessCache.get('key:k1'), accessCache.get('key:k2')]).toEqual(['a', 'k1', undefined]);
    accessCache.evict((tags) => tags.tenantId === A);
    expect([accessCache.get('member:a'), accessCache.get('key:k1')]).toEqual([undefined, undefined]);
  });

  it('stores nothing from a load that an eviction overtook: its answer may predate the change', async () => {
    const { accessCache } = cache();
    let finish: (role: string) => void = () => {};
    const loading = accessCache.load('member:a', () => ({ tenantId: A }), () => new Promise<string>((resolve) => (finish = resolve)));
    accessCache.evict((tags) => tags.tenantId === A);
    finish('admin');
    expect(await loading).toBe('admin');
    expect(accessCache.get('member:a')).toBeUndefined();
  });

  it('drops the oldest entry when full', async () => {
    const { accessCache } = cache({ maxEntries: 2 });
    for (const key of ['one', 'two', 'three']) await accessCache.load(key, () => ({ tenantId: A }), async () => key);
    expect([accessCache.get('one'), accessCache.get('two'), accessCache.get('three')]).toEqual([undefined, 'two', 'three']);
    expect(accessCache.size).toBe(2);
  });
});
