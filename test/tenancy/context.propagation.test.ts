// The request context follows a request's own async work and nothing else: background
// timers, shared listeners and later work never inherit a tenant from the request that made them.
// enterTenant(), the way into a tenant outside the access hook, sets exactly what it is given.

import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/tenancy/actor.js';
import { currentContext, currentTenantId, MissingTenantContextError, outsideContext, runWithContext } from '../../src/tenancy/context.js';
import { enterTenant } from '../../src/tenancy/enter-tenant.js';

const A = '01a20817-8109-7101-a7b5-65e99a9897c4';
const B = '01a20817-8109-7101-a7b5-65e99a9897c5';

describe('request context', () => {
  it('follows awaits and timers of the request itself', async () => {
    const seen = await runWithContext({ requestId: 'r', tenantId: A }, async () => {
      await sleep(1);
      return new Promise<string | undefined>((resolve) => setTimeout(() => resolve(currentContext()?.tenantId), 1));
    });
    expect(seen).toBe(A);
  });

  it('is gone after the request: code running later has no tenant', async () => {
    await runWithContext({ requestId: 'r', tenantId: A }, async () => sleep(1));
    expect(currentContext()).toBeUndefined();
    expect(() => currentTenantId()).toThrow(MissingTenantContextError);
  });

  it('is not inherited by a timer started outside the context from inside a request', async () => {
    const seen = await runWithContext({ requestId: 'r', tenantId: A }, () =>
      outsideContext(
        () => new Promise<string | undefined>((resolve) => setTimeout(() => resolve(currentContext()?.tenantId ?? 'none'), 1)),
      ),
    );
    expect(seen).toBe('none');
  });

  it('gives a listener registered during request A the context of whoever emits, never A\'s', async () => {
    const bus = new EventEmitter();
    const seen: Array<string | undefined> = [];
    runWithContext({ requestId: 'a', tenantId: A }, () => bus.on('change', () => seen.push(currentContext()?.tenantId)));
    bus.emit('change');
    runWithContext({ requestId: 'b', tenantId: B }, () => bus.emit('change'));
    expect(seen).toEqual([undefined, B]);
  });

  it('keeps concurrent requests apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const tenantId = i % 2 ? A : B;
        return runWithContext({ requestId: String(i), tenantId }, async () => {
          await sleep(Math.random() * 5);
          return currentTenantId() === tenantId;
        });
      }),
    );
    expect(results.every(Boolean)).toBe(true);
  });

  it('is frozen: work cannot switch its own tenant', () => {
    runWithContext({ requestId: 'r', tenantId: A }, () => {
      expect(() => {
        (currentContext() as { tenantId: string }).tenantId = B;
      }).toThrow(TypeError);
    });
  });
});

describe('enterTenant', () => {
  const keyOfB: Actor = { kind: 'api_key', apiKeyId: 'key-1', tenantId: B, role: 'admin', plan: 'pro', requestId: 'req-b' };

  it('enters a tenant named by id, keeping the surrounding request id for tracing', async () => {
    const seen = await runWithContext({ requestId: 'signup-1' }, () => enterTenant(A, async () => currentContext()));
    expect(seen).toEqual({ requestId: 'signup-1', tenantId: A, userId: undefined });
  });

  it('enters an actor\'s tenant as that actor, and carries no user for an API key', () => {
    const seen = enterTenant(keyOfB, () => currentContext());
    expect(seen).toMatchObject({ requestId: 'req-b', tenantId: B, role: 'admin', plan: 'pro', apiKeyId: 'key-1' });
    expect(seen?.userId).toBeUndefined();
  });

  it('names a fresh request id outside any request, and leaves no tenant behind', () => {
    const seen = enterTenant({ tenantId: A }, () => currentContext());
    expect(seen?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(currentContext()).toBeUndefined();
  });
});
