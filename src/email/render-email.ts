// One layout for every transactional email: the brand's name (and logo) on top, a few
// paragraphs, at most one button, and a closing line, as plain text and as HTML. Every value
// is escaped in the HTML part; links must be http(s).

import type { EmailBrand } from './email-brand.js';
import { escapeHtml, safeUrl } from './html-escape.js';
import type { OutgoingEmail } from './outgoing-email.js';

export interface EmailContent {
  readonly to: string;
  readonly subject: string;
  readonly greeting?: string | undefined;
  readonly paragraphs: readonly string[];
  readonly action?: { readonly label: string; readonly url: string } | undefined;
  /** Why the reader got this, e.g. "If you did not ask for this, ignore this email." */
  readonly closing?: string | undefined;
}

function textPart(brand: EmailBrand, content: EmailContent): string {
  const lines = [brand.name, ''];
  if (content.greeting) lines.push(content.greeting, '');
  for (const paragraph of content.paragraphs) lines.push(paragraph, '');
  if (content.action) lines.push(`${content.action.label}: ${content.action.url}`, '');
  if (content.closing) lines.push(content.closing, '');
  return lines.join('\n');
}

function htmlPart(brand: EmailBrand, content: EmailContent): string {
  const color = escapeHtml(brand.primaryColor);
  const header = brand.logoUrl
    ? `<img src="${safeUrl(brand.logoUrl)}" alt="${escapeHtml(brand.name)}" style="max-height:48px">`
    : `<strong style="font-size:20px;color:${color}">${escapeHtml(brand.name)}</strong>`;
  const body = [
    content.greeting ? `<p>${escapeHtml(content.greeting)}</p>` : '',
    ...content.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    content.action
      ? `<p><a href="${safeUrl(content.action.url)}" style="display:inline-block;padding:10px 18px;background:${color};color:#ffffff;text-decoration:none;border-radius:4px">${escapeHtml(content.action.label)}</a></p>` +
        `<p style="font-size:12px;color:#666666">${escapeHtml(content.action.url)}</p>`
      : '',
    content.closing ? `<p style="font-size:12px;color:#666666">${escapeHtml(content.closing)}</p>` : '',
  ].join('');
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(content.subject)}</title></head>` +
    `<body style="font-family:sans-serif;line-height:1.5;color:#111111"><div style="max-width:560px;margin:0 auto;padding:24px">` +
    `<div style="border-bottom:3px solid ${color};padding-bottom:12px;margin-bottom:16px">${header}</div>${body}</div></body></html>`
  );
}

export function renderEmail(brand: EmailBrand, content: EmailContent): OutgoingEmail {
  // The subject is a header: no line breaks, whatever a tenant name holds.
  const subject = content.subject.replace(/[\r\n]+/g, ' ').slice(0, 200);
  return { to: content.to, subject, text: textPart(brand, content), html: htmlPart(brand, { ...content, subject }) };
}
