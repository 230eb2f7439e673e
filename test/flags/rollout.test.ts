// Rollout buckets: a stable MurmurHash3 of `flagKey:attribute` into 0..9999, so answers
// never flip between instances or restarts, and raising the percentage only adds tenants.

import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { evaluateFlag } from '../../src/flags/evaluate-flag.js';
import type { FlagDefinition } from '../../src/flags/flag.js';
import { murmur3, rolloutBucket } from '../../src/flags/murmur3.js';

function rollout(percent: number, bucketBy: 'tenantId' | 'userId' = 'tenantId'): FlagDefinition {
  return {
    key: 'new_dashboard',
    kind: 'rollout',
    description: '',
    defaultValue: false,
    rolloutBasisPoints: Math.round(percent * 100),
    bucketBy,
    tenantEditable: false,
  };
}

const tenants = Array.from({ length: 5000 }, () => randomUUID());

function enabledAt(percent: number): Set<string> {
  const flag = rollout(percent);
  return new Set(tenants.filter((tenantId) => evaluateFlag(flag, undefined, undefined, { tenantId, plan: 'free' }).value === true));
}

describe('murmur3', () => {
  it('matches the reference MurmurHash3 x86 32-bit vectors', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('hello')).toBe(613153351);
    expect(murmur3('abcd')).toBe(1139631978);
    expect(murmur3('', 1)).toBe(0x514e28b7);
  });

  it('hashes non-ASCII text as its UTF-8 bytes', () => {
    // murmurhash3js (unleash-client's hash) reads one byte per character: feed it the UTF-8 bytes.
    const reference = createRequire(import.meta.url)('murmurhash3js') as { x86: { hash32(text: string): number } };
    for (const text of ['héllo wörld', 'テナント', 'new_dashboard:ünïcode']) {
      expect(murmur3(text)).toBe(reference.x86.hash32(Buffer.from(text, 'utf8').toString('latin1')));
    }
  });
});

describe('rollout buckets', () => {
  it('gives the same bucket for the same flag and tenant every time', () => {
    const tenantId = '0190f1c2-aaaa-7bbb-8ccc-123456789abc';
    expect(rolloutBucket('new_dashboard', tenantId)).toBe(murmur3(`new_dashboard:${tenantId}`) % 10_000);
    expect(rolloutBucket('new_dashboard', tenantId)).toBe(rolloutBucket('new_dashboard', tenantId));
  });

  it('buckets each flag independently (the key is part of the hash)', () => {
    const same = tenants.filter((id) => rolloutBucket('flag_a', id) < 5000 === rolloutBucket('flag_b', id) < 5000).length;
    expect(same / tenants.length).toBeGreaterThan(0.4);
    expect(same / tenants.length).toBeLessThan(0.6);
  });

  it('enables about the percentage asked for, down to hundredths of a percent', () => {
    expect(enabledAt(0).size).toBe(0);
    expect(enabledAt(100).size).toBe(tenants.length);
    const quarter = enabledAt(25).size / tenants.length;
    expect(quarter).toBeGreaterThan(0.22);
    expect(quarter).toBeLessThan(0.28);
  });

  it('only adds tenants when the percentage rises', () => {
    let previous = enabledAt(0);
    for (const percent of [0.01, 1, 5, 10, 25, 33.33, 50, 75, 99.99, 100]) {
      const current = enabledAt(percent);
      for (const tenantId of previous) expect(current.has(tenantId)).toBe(true);
      expect(current.size).toBeGreaterThanOrEqual(previous.size);
      previous = current;
    }
  });

  it('buckets by user when the flag says so, and leaves out a request with no user', () => {
    const flag = rollout(50, 'userId');
    const tenantId = randomUUID();
    const users = Array.from({ length: 400 }, () => randomUUID());
    const on = users.filter((userId) => evaluateFlag(flag, undefined, undefined, { tenantId, plan: 'free', userId }).value === true);
    expect(on.length).toBeGreaterThan(150);
    expect(on.length).toBeLessThan(250);
    expect(evaluateFlag(flag, undefined, undefined, { tenantId, plan: 'free' }).value).toBe(false);
  });

  it('lets a plan default, then a tenant override, win over the rollout', () => {
    const flag = rollout(0);
    const context = { tenantId: randomUUID(), plan: 'pro' };
    expect(evaluateFlag(flag, undefined, undefined, context)).toMatchObject({ value: false, source: 'default' });
    expect(evaluateFlag(flag, new Map([['new_dashboard', true]]), undefined, context)).toMatchObject({ value: true, source: 'plan' });
    expect(evaluateFlag(flag, new Map([['new_dashboard', true]]), new Map([['new_dashboard', false]]), context)).toMatchObject({
      value: false,
      source: 'tenant',
    });
  });
});
