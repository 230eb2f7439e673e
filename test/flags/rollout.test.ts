// Rollout flags, seen from outside: the hash is MurmurHash3 x86_32 as published (so any other
// service can compute the same buckets), a tenant's answer never changes between calls or
// releases, raising the percentage only adds tenants, and the share of tenants that are on
// is the percentage asked for, within what chance allows. Expected values come from the
// reference C implementation, never from the code under test.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evaluateFlag } from '../../src/flags/evaluate-flag.js';
import type { FlagDefinition } from '../../src/flags/flag.js';
import { murmur3, rolloutBucket } from '../../src/flags/murmur3.js';

function rollout(percent: number, options: { key?: string; bucketBy?: 'tenantId' | 'userId' } = {}): FlagDefinition {
  return {
    key: options.key ?? 'new_dashboard',
    kind: 'rollout',
    description: '',
    defaultValue: false,
    rolloutBasisPoints: Math.round(percent * 100),
    bucketBy: options.bucketBy ?? 'tenantId',
    tenantEditable: false,
  };
}

function isOn(flag: FlagDefinition, tenantId: string, userId?: string): boolean {
  return evaluateFlag(flag, undefined, undefined, { tenantId, userId }).value === true;
}

/** UUID-shaped ids derived from a counter: the same every run, so every bound below is deterministic. */
function fixedIds(label: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const hex = createHash('sha256').update(`${label}-${i}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  });
}

/**
 * `on` of `n` ids where a share `p` was asked for: within five standard deviations of n·p,
 * which a fair hash misses about once in 1.7 million tries.
 */
function expectBinomial(on: number, n: number, p: number): void {
  const bound = 5 * Math.sqrt(n * p * (1 - p));
  expect(Math.abs(on - n * p), `${on} of ${n} on, ${n * p} expected, ±${bound.toFixed(1)} allowed`).toBeLessThanOrEqual(bound);
}

const tenants = fixedIds('tenant', 20_000);

describe('murmur3', () => {
  // The published MurmurHash3_x86_32 test vectors, checked against SMHasher's reference C code.
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['hello', 0, 0x248bfa47],
    ['abc', 0, 0xb3dd93fa],
    ['Hello, world!', 0, 0xc0363e43],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['ab', 0x9747b28c, 0x74875592],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    // Text other than ASCII is hashed as its UTF-8 bytes.
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
    ['héllo wörld', 0, 0x97f7f274],
    ['テナント', 0, 0xd4dd99c1],
  ])('hashes %j with seed %i to the reference value', (text, seed, expected) => {
    expect(murmur3(text, seed)).toBe(expected);
  });

  // rolloutBucket hashes `key:value` read from its two parts, without joining them: every
  // split of the 4-byte blocks between the parts, and text other than ASCII on either side.
  it.each(['a', 'ab', 'abc', 'abcd', 'abcde', 'new_dashboard', 'ü', 'wörld_flag'])(
    'buckets flag %j as the hash of the joined key and value',
    (key) => {
      for (const value of ['', '7', '0190f1c2-aaaa-7bbb-8ccc-000000000000', 'user-héllo', 'テナント', 'ab\ud800']) {
        expect(rolloutBucket(key, value), `${key}:${value}`).toBe(murmur3(`${key}:${value}`) % 10_000);
      }
    },
  );
});

describe('rollout flags', () => {
  it('give the same answer for the same flag and tenant on every call', () => {
    for (const tenantId of tenants.slice(0, 2_000)) {
      expect(isOn(rollout(40), tenantId), tenantId).toBe(isOn(rollout(40), tenantId));
    }
  });

  // Each tenant's first percentage, from the reference hash of `new_dashboard:<tenant id>`:
  // answers that change across releases would switch live tenants' features on or off.
  it.each([
    ['0190f1c2-aaaa-7bbb-8ccc-000000000000', 84.79],
    ['0190f1c2-aaaa-7bbb-8ccc-000000000001', 24.02],
    ['0190f1c2-aaaa-7bbb-8ccc-000000000002', 11.22],
    ['0190f1c2-aaaa-7bbb-8ccc-000000000005', 16.27],
    ['0190f1c2-aaaa-7bbb-8ccc-000000000006', 25.38],
    ['0190f1c2-aaaa-7bbb-8ccc-000000000008', 23.27],
    ['0190f1c2-aaaa-7bbb-8ccc-000000000009', 26.09],
  ])('turn tenant %s on from %f % exactly, to the hundredth of a percent', (tenantId, from) => {
    expect(isOn(rollout(from - 0.01), tenantId)).toBe(false);
    expect(isOn(rollout(from), tenantId)).toBe(true);
  });

  it('turn nobody on at 0 % and everybody at 100 %', () => {
    expect(tenants.filter((tenantId) => isOn(rollout(0), tenantId))).toEqual([]);
    expect(tenants.filter((tenantId) => !isOn(rollout(100), tenantId))).toEqual([]);
  });

  it.each([0.5, 1, 10, 25, 33.33, 50, 75, 99])('turn on %f % of tenants, within chance', (percent) => {
    const on = tenants.filter((tenantId) => isOn(rollout(percent), tenantId)).length;
    expectBinomial(on, tenants.length, percent / 100);
  });

  it('only add tenants as the percentage rises', () => {
    const sample = tenants.slice(0, 5_000);
    let previous = new Set<string>();
    for (const percent of [0, 0.01, 0.02, 1, 5, 10, 25, 33.33, 33.34, 50, 75, 99.99, 100]) {
      const current = new Set(sample.filter((tenantId) => isOn(rollout(percent), tenantId)));
      const dropped = [...previous].filter((tenantId) => !current.has(tenantId));
      expect(dropped, `tenants turned off when raising to ${percent} %`).toEqual([]);
      previous = current;
    }
  });

  it('bucket each flag on its own: being on for one says nothing about another', () => {
    const [a, b] = [rollout(50, { key: 'flag_a' }), rollout(50, { key: 'flag_b' })];
    const same = tenants.filter((tenantId) => isOn(a, tenantId) === isOn(b, tenantId)).length;
    expectBinomial(same, tenants.length, 0.5);
  });

  it('bucket by user when the flag says so, and leave out a request with no user', () => {
    const flag = rollout(30, { bucketBy: 'userId' });
    const [tenantId] = fixedIds('one-tenant', 1) as [string];
    const users = fixedIds('user', 10_000);
    expectBinomial(users.filter((userId) => isOn(flag, tenantId, userId)).length, users.length, 0.3);
    // The user decides, not the tenant: the same user has the same answer in every tenant.
    for (const userId of users.slice(0, 200)) expect(isOn(flag, tenants[0]!, userId)).toBe(isOn(flag, tenants[1]!, userId));
    expect(isOn(flag, tenantId)).toBe(false);
    expect(isOn(rollout(100, { bucketBy: 'userId' }), tenantId)).toBe(false);
  });

  it('let a plan default, then a tenant override, win over the rollout', () => {
    const flag = rollout(0);
    const context = { tenantId: tenants[0]!, plan: 'pro' };
    expect(evaluateFlag(flag, undefined, undefined, context)).toMatchObject({ value: false, source: 'default' });
    expect(evaluateFlag(flag, new Map([['new_dashboard', true]]), undefined, context)).toMatchObject({ value: true, source: 'plan' });
    expect(evaluateFlag(flag, new Map([['new_dashboard', true]]), new Map([['new_dashboard', false]]), context)).toMatchObject({
      value: false,
      source: 'tenant',
    });
  });
});
