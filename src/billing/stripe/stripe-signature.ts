// Checks a Stripe webhook's signature on the raw bytes received, with the SDK's own check, and
// its timestamp within 300 s either way: the SDK refuses only old timestamps, and a signature
// dated in the future is as suspect as a replayed one.

import Stripe from 'stripe';
import type { Clock } from '../../clock.js';
import { AppError } from '../../http/problems.js';
import type { StripeEvent } from './stripe-event-handler.js';

export const SIGNATURE_TOLERANCE_SECONDS = 300;

// The SDK's webhook helpers need no key or network; one instance serves every check.
const sdk = new Stripe('sk_webhook_verification_only', { telemetry: false });

/** The verified event; 400 invalid-webhook-signature otherwise. */
export function verifyStripeSignature(rawBody: Buffer, header: string | undefined, secret: string, clock: Clock): StripeEvent {
  if (!header) throw new AppError('invalid-webhook-signature', 'the Stripe-Signature header is missing');
  const nowMs = clock.now().getTime();
  const timestamp = Number(/(?:^|,)\s*t=(\d{1,12})(?:,|$)/.exec(header)?.[1]);
  if (Number.isFinite(timestamp) && timestamp - Math.floor(nowMs / 1000) > SIGNATURE_TOLERANCE_SECONDS) {
    throw new AppError('invalid-webhook-signature', `the signature's timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s in the future`);
  }
  let event: Stripe.Event;
  try {
    event = sdk.webhooks.constructEvent(rawBody, header, secret, SIGNATURE_TOLERANCE_SECONDS, undefined, nowMs);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
      const stale = /tolerance/i.test(error.message);
      throw new AppError('invalid-webhook-signature', stale ? `the signature's timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s old` : 'the signature does not match the body');
    }
    // Signed correctly but not JSON: Stripe never sends that.
    throw new AppError('invalid-webhook-signature', 'the signed body is not a Stripe event');
  }
  if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.created !== 'number' || typeof event.data !== 'object' || event.data === null) {
    throw new AppError('invalid-webhook-signature', 'the signed body is not a Stripe event');
  }
  return event;
}
