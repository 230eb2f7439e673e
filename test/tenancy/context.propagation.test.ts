// The request context follows a request's own async work and nothing else: background
// timers, shared listeners and later work never inherit a tenant from the request that made them.

import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { currentContext, currentTenantId, MissingTenantContextError, outsideContext, runWithContext } from '../../src/tenancy/context.js';

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
