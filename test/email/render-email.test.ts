// Templates carry the tenant's branding and escape everything they show.

import { describe, expect, it } from 'vitest';
import { brandFromSettings, PLATFORM_BRAND } from '../../src/email/email-brand.js';
import { renderEmail } from '../../src/email/render-email.js';

const content = {
  to: 'alice@example.test',
  subject: 'Confirm your email',
  greeting: 'Hello <b>Alice</b>,',
  paragraphs: ['Someone asked to join "Acme" & friends.'],
  action: { label: 'Confirm', url: 'https://app.example.test/verify?token=abc&x=<1>' },
  closing: 'If you did not ask for this, ignore this email.',
};

describe('renderEmail', () => {
  it("shows the tenant's name, logo and colour", () => {
    const brand = brandFromSettings({ name: 'Acme', values: { logoUrl: 'https://cdn.example.test/logo.png', primaryColor: '#ff0000' } });
    const email = renderEmail(brand, content);
    expect(email.html).toContain('src="https://cdn.example.test/logo.png"');
    expect(email.html).toContain('background:#ff0000');
    expect(email.text.startsWith('Acme\n')).toBe(true);
  });

  it('escapes every value in the HTML part and keeps the plain text as written', () => {
    const brand = brandFromSettings({ name: '<script>alert(1)</script>', values: { logoUrl: null, primaryColor: '#123456' } });
    const email = renderEmail(brand, content);
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(email.html).toContain('Hello &lt;b&gt;Alice&lt;/b&gt;,');
    expect(email.html).toContain('&quot;Acme&quot; &amp; friends.');
    expect(email.html).toContain('href="https://app.example.test/verify?token=abc&amp;x=%3C1%3E"');
    expect(email.text).toContain('Confirm: https://app.example.test/verify?token=abc&x=<1>');
  });

  it('refuses a link that is not http(s)', () => {
    expect(() => renderEmail(PLATFORM_BRAND, { ...content, action: { label: 'Go', url: 'javascript:alert(1)' } })).toThrow(/javascript/);
  });

  it('keeps a colour that is not a colour out of the CSS', () => {
    const brand = brandFromSettings({ name: 'Acme', values: { logoUrl: null, primaryColor: 'red;background:url(x)' } });
    expect(brand.primaryColor).toBe(PLATFORM_BRAND.primaryColor);
  });

  it('puts no line break in the subject', () => {
    const email = renderEmail(PLATFORM_BRAND, { ...content, subject: 'Welcome to Acme\r\nBcc: x@evil.test' });
    expect(email.subject).toBe('Welcome to Acme Bcc: x@evil.test');
  });
});
