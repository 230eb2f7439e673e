// What counts as "the same device": the same browser family, the same operating system family
// and the same network (an IPv4 /24, an IPv6 /48). Versions and exact addresses change too
// often to matter; a new browser, OS or network is worth an audit row. Only a SHA-256 of the
// three is kept, and the audit row shows the families, never the address.

import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export interface Device {
  readonly fingerprint: Buffer;
  /** e.g. "Firefox on Linux": what an audit row may show. */
  readonly label: string;
}

// Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari".
const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/Edg(?:e|A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/Chrome\/|Chromium\/|CriOS\//, 'Chrome'],
  [/Safari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^python-requests\//, 'python-requests'],
  [/^Go-http-client\//, 'Go'],
  [/^node|undici/, 'Node.js'],
];

const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Android/, 'Android'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

function family(userAgent: string, table: ReadonlyArray<[RegExp, string]>): string {
  return table.find(([pattern]) => pattern.test(userAgent))?.[1] ?? 'other';
}

/** The eight 16-bit groups of an IPv6 address, expanded. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => group.toLowerCase().padStart(4, '0'));
}

/** The network a client address belongs to; an address of no known form is its own network. */
export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  if (isIPv4(ip)) return ip.split('.').slice(0, 3).join('.') + '.0/24';
  if (isIPv6(ip)) return ipv6Groups(ip.split('%')[0]!).slice(0, 3).join(':') + '::/48';
  return address;
}

export function deviceOf(userAgent: string | undefined, address: string): Device {
  const agent = userAgent ?? '';
  const label = `${family(agent, BROWSERS)} on ${family(agent, SYSTEMS)}`;
  const fingerprint = createHash('sha256').update(`${label}\n${networkOf(address)}`, 'utf8').digest();
  return { fingerprint, label };
}
