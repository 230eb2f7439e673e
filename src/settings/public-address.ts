// Refuses URLs the server would call (webhooks) when their host resolves to an address
// inside the network: loopback, private, CGNAT, link-local (cloud metadata included),
// multicast, reserved, and IPv6 forms that carry such an IPv4 address. Judged on the
// resolved IPs, every one of them, not on the text.
// A sender must check again when it connects: DNS can change after this check.

import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const refusedIpv4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  refusedIpv4.addSubnet(network, prefix, 'ipv4');
}

/** Public IPv6 addresses are global unicast; anything else (ULA, link- and site-local, multicast, unassigned) is refused. */
const globalUnicast = new BlockList();
globalUnicast.addSubnet('2000::', 3, 'ipv6');

const refusedIpv6 = new BlockList();
for (const [network, prefix] of [
  ['::', 96], // IPv4-compatible (deprecated), unspecified and loopback included
  ['64:ff9b:1::', 48], // NAT64 for local use (RFC 8215): inside some network by definition
  ['2001::', 23], // IETF special purpose, Teredo (2001::/32) included: it tunnels to an IPv4 it hides
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
] as const) {
  refusedIpv6.addSubnet(network, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address in any spelling (compressed, dotted IPv4 tail, any case); undefined if it is none. */
function ipv6Bytes(address: string): number[] | undefined {
  const halves = address.toLowerCase().split('::');
  if (halves.length > 2) return undefined;
  const groups = halves.map((half) => {
    if (half === '') return [];
    const parts = half.split(':');
    const last = parts[parts.length - 1]!;
    if (last.includes('.')) {
      if (isIP(last) !== 4) return undefined;
      const octets = last.split('.').map(Number);
      parts.splice(-1, 1, ((octets[0]! << 8) | octets[1]!).toString(16), ((octets[2]! << 8) | octets[3]!).toString(16));
    }
    return parts.every((part) => /^[0-9a-f]{1,4}$/.test(part)) ? parts.map((part) => parseInt(part, 16)) : undefined;
  });
  if (groups.some((group) => group === undefined)) return undefined;
  const [head, tail] = groups as number[][];
  const missing = 8 - head!.length - (tail?.length ?? 0);
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const words = [...head!, ...new Array<number>(tail === undefined ? 0 : missing).fill(0), ...(tail ?? [])];
  return words.flatMap((word) => [word >> 8, word & 255]);
}

function startsWith(bytes: number[], prefix: number[]): boolean {
  return prefix.every((byte, index) => bytes[index] === byte);
}

function zeros(count: number): number[] {
  return new Array<number>(count).fill(0);
}

/**
 * The IPv4 address an IPv6 address stands for, when it is one whose reachability is that
 * IPv4's: mapped (::ffff:a.b.c.d), SIIT-translated (::ffff:0:a.b.c.d), NAT64's well-known
 * prefix (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::/48).
 */
function embeddedIpv4(bytes: number[]): string | undefined {
  const tail = bytes.slice(12, 16).join('.');
  if (startsWith(bytes, [...zeros(10), 0xff, 0xff])) return tail;
  if (startsWith(bytes, [...zeros(8), 0xff, 0xff, 0, 0])) return tail;
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, ...zeros(8)])) return tail;
  if (startsWith(bytes, [0x20, 0x02])) return bytes.slice(2, 6).join('.');
  return undefined;
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return refusedIpv4.check(address, 'ipv4');
  // A zone (fe80::1%eth0) only exists for link-scoped addresses.
  if (family !== 6 || address.includes('%')) return true; // not an IP at all: refuse rather than guess
  const bytes = ipv6Bytes(address);
  if (!bytes) return true;
  const ipv4 = embeddedIpv4(bytes);
  if (ipv4) return refusedIpv4.check(ipv4, 'ipv4');
  return !globalUnicast.check(address, 'ipv6') || refusedIpv6.check(address, 'ipv6');
}

export type AddressVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Resolves the URL's host (unless it is an IP literal) and judges every address. */
export async function checkPublicHost(url: URL): Promise<AddressVerdict> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
    } catch {
      return { ok: false, reason: `host "${host}" does not resolve` };
    }
  }
  if (addresses.length === 0) return { ok: false, reason: `host "${host}" does not resolve` };
  const internal = addresses.find(isInternalAddress);
  if (internal) return { ok: false, reason: `host "${host}" resolves to ${internal}, an internal address` };
  return { ok: true };
}
