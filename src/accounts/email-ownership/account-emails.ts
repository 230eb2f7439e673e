// The words of the account emails. Links point at the app (TENANTRY_APP_URL), which posts the
// token back to the API; the token is in the link's query, as every mail client can open it.

import type { EmailBrand } from '../../email/email-brand.js';
import { renderEmail } from '../../email/render-email.js';
import type { OutgoingEmail } from '../../email/outgoing-email.js';

function link(appUrl: string, path: string, token: string): string {
  const url = new URL(appUrl + path);
  url.searchParams.set('token', token);
  return url.href;
}

export function verificationEmail(brand: EmailBrand, appUrl: string, to: string, token: string, hours: number): OutgoingEmail {
  return renderEmail(brand, {
    to,
    subject: `Confirm your email address for ${brand.name}`,
    paragraphs: [
      `Please confirm that ${to} is your email address. Until you do, you cannot accept invitations with it.`,
      `The link works once and for ${hours} hours.`,
    ],
    action: { label: 'Confirm my email address', url: link(appUrl, '/verify-email', token) },
    closing: 'If you did not sign up or change your email address, ignore this email: nothing changes without the link.',
  });
}

export function passwordResetEmail(brand: EmailBrand, appUrl: string, to: string, token: string, minutes: number): OutgoingEmail {
  return renderEmail(brand, {
    to,
    subject: `Reset your ${brand.name} password`,
    paragraphs: [
      'Someone asked to reset the password of the account with this email address.',
      `The link works once and for ${minutes} minutes. Setting a new password signs every session out.`,
    ],
    action: { label: 'Choose a new password', url: link(appUrl, '/reset-password', token) },
    closing: 'If you did not ask for this, ignore this email: your password stays as it is.',
  });
}

export function invitationEmail(brand: EmailBrand, appUrl: string, to: string, role: string, token: string): OutgoingEmail {
  return renderEmail(brand, {
    to,
    subject: `You are invited to join ${brand.name}`,
    paragraphs: [
      `You are invited to join ${brand.name} as ${role === 'admin' || role === 'owner' ? 'an' : 'a'} ${role}.`,
      'If you already have an account with this address, sign in (and confirm the address, if you have not) before accepting.',
    ],
    action: { label: 'Accept the invitation', url: link(appUrl, '/accept-invitation', token) },
    closing: 'If you did not expect this invitation, ignore this email.',
  });
}

/** Sign-up for an address with no account: the link (and the password chosen) create it. */
export function signUpEmail(brand: EmailBrand, appUrl: string, to: string, token: string, hours: number): OutgoingEmail {
  return renderEmail(brand, {
    to,
    subject: `Confirm your email address to create ${brand.name}`,
    paragraphs: [
      `Someone asked to create ${brand.name} with ${to} as its owner's address. If it was you, follow the link and give the password you chose: that creates the tenant and your account.`,
      `The link works once and for ${hours} hours.`,
    ],
    action: { label: `Create ${brand.name}`, url: link(appUrl, '/complete-sign-up', token) },
    closing: 'If you did not sign up, ignore this email: nothing is created without the link and the password.',
  });
}

/** Sign-up for an address that has an account: the account is not changed; its holder may create the tenant. */
export function signUpExistingAccountEmail(brand: EmailBrand, appUrl: string, to: string, token: string, hours: number): OutgoingEmail {
  return renderEmail(brand, {
    to,
    subject: `Confirm your email address to create ${brand.name}`,
    paragraphs: [
      `Someone asked to create ${brand.name} with ${to} as its owner's address. You already have an account with this address, and it stays as it is.`,
      `If it was you, follow the link and give your account's current password (not a new one): that creates ${brand.name} with you as its owner.`,
      `The link works once and for ${hours} hours.`,
    ],
    action: { label: `Create ${brand.name}`, url: link(appUrl, '/complete-sign-up', token) },
    closing: 'If you did not ask for this, ignore this email: nothing is created, and nobody learns that you have an account.',
  });
}
