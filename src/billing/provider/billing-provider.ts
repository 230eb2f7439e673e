// The one billing interface and its two providers: `local` (no outside service; invoices are
// computed and collected in Tenantry) and `stripe` (customers, subscriptions, Checkout and meter
// events through the official SDK). Which one runs is decided once, from the config.

import type { BillingProviderName } from '../billing-tables.js';

/** The tenant a provider account is opened for. */
export interface ProvisionTarget {
  readonly tenantId: string;
  readonly plan: string;
}

/** What the provider knows the tenant by; both null with the local provider. */
export interface ProviderRefs {
  readonly customerRef: string | null;
  readonly subscriptionRef: string | null;
}

/** A tenant's billing account as a provider sees it. */
export interface ProviderAccount extends ProviderRefs {
  readonly tenantId: string;
}

/** Upgrades apply now (prorated); downgrades at the period's end (nothing prorated). */
export type PlanChangeEffective = 'now' | 'period-end';

export interface CheckoutReturnUrls {
  readonly successUrl: string;
  readonly cancelUrl: string;
}

/** One period's usage of one metric, reported once. */
export interface MeterEvent {
  /** Derived from tenant, metric and period (meter-event-identifier.ts): the same on every run. */
  readonly identifier: string;
  readonly metric: string;
  readonly customerRef: string;
  readonly quantity: number;
  /** When the usage happened (the period's last second): the provider bills it in that period. */
  readonly timestamp: Date;
}

/** A saved payment method that can never be used for this account (another customer's, or never confirmed). */
export class UnusableSetup extends Error {
  override readonly name = 'UnusableSetup';
}

export interface BillingProvider {
  readonly name: BillingProviderName;
  /**
   * Opens the tenant's account with the provider: a customer and a subscription to its plan.
   * Calling it again for the same tenant (a retried job) answers the same references and
   * creates nothing more.
   */
  provision(tenant: ProvisionTarget): Promise<ProviderRefs>;
  /**
   * Moves the tenant's subscription to `plan`. Answers the subscription the tenant has
   * afterwards (a plan without a price has none). The caller changes tenants.plan itself.
   */
  changeSubscription(account: ProviderAccount, plan: string, effective: PlanChangeEffective): Promise<ProviderRefs>;
  /** A hosted page where the tenant adds a payment method (and confirms `plan`); 409 where there is none. */
  checkoutUrl(account: ProviderAccount, plan: string, returnUrls: CheckoutReturnUrls): Promise<string>;
  /**
   * Makes the payment method a completed Checkout saved (its SetupIntent) the one the provider
   * charges: the customer's default and its subscription's. Repeating it changes nothing.
   */
  useSetupPaymentMethod(account: ProviderAccount, setupRef: string): Promise<void>;
  /** Sends usage; an event sent before (same identifier) is not counted twice by the provider. */
  reportUsage(event: MeterEvent): Promise<void>;
}
