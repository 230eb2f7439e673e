// Escaping for the HTML part: every value a template puts in HTML (tenant names, people's
// names, links) goes through here, so no input can add markup or leave an attribute.

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

/** An http(s) URL, escaped for an attribute; anything else (javascript:, data:) is refused. */
export function safeUrl(value: string): string {
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`refusing a ${url.protocol} link in an email`);
  return escapeHtml(url.href);
}
