// The events a tenant's webhooks can carry, as one open, typed map. A module adds its own by
// augmenting TenantEventTypes, and then publishes them with a type-checked payload:
//
//   declare module '../webhooks/tenant-event.js' {
//     interface TenantEventTypes { 'contract.signed': { contractId: string; signedBy: string } }
//   }

/** Event type → the shape of its `data`. Names are dotted lowercase: `<area>.<what happened>`. */
export interface TenantEventTypes {
  /** Usage passed 80 % or 100 % of a plan limit (once per period, metric and threshold). */
  'usage.warning': {
    readonly metric: string;
    readonly threshold: 80 | 100;
    readonly used: number;
    readonly limit: number;
    /** The billing period's start; null for limits that never reset (seats). */
    readonly periodStart: string | null;
  };
  /** Sent on request (POST /v1/webhooks/test) so a tenant can check their receiver. */
  'webhook.test': { readonly message: string };
}

export type TenantEventType = keyof TenantEventTypes & string;

export interface TenantEvent<T extends TenantEventType = TenantEventType> {
  readonly type: T;
  readonly data: TenantEventTypes[T];
  /**
   * Publishing again with the same key (in this tenant) is a no-op, also from concurrent
   * transactions: the unique key decides. Use it for "once": a payment's id, a threshold and period.
   */
  readonly key?: string | undefined;
}

export const EVENT_TYPE_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$';
const EVENT_TYPE = new RegExp(EVENT_TYPE_PATTERN);

export function isEventTypeName(value: string): boolean {
  return value.length <= 100 && EVENT_TYPE.test(value);
}

/** The JSON body every delivery of an event sends, byte for byte the same on each attempt. */
export function eventBody(event: { readonly type: string; readonly data: unknown; readonly createdAt: Date }): string {
  return JSON.stringify({ type: event.type, timestamp: event.createdAt.toISOString(), data: event.data });
}
