// Which addresses a webhook may point at: public ones only, however an internal IPv4
// address is dressed up in IPv6 (compatible, mapped, SIIT, 6to4, Teredo, NAT64).

import { describe, expect, it } from 'vitest';
import { checkPublicHost, isInternalAddress } from '../../src/settings/public-address.js';

const REFUSED: [string, string][] = [
  ['::', 'the unspecified address'],
  ['::1', 'loopback'],
  ['::127.0.0.1', 'IPv4-compatible loopback'],
  ['::7f00:1', 'IPv4-compatible loopback, in hex'],
  ['::93.184.216.34', 'IPv4-compatible, even of a public IPv4 (deprecated by RFC 4291)'],
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
  ['::ffff:7f00:1', 'IPv4-mapped loopback, in hex'],
  ['0:0:0:0:0:FFFF:127.0.0.1', 'IPv4-mapped loopback, uncompressed and upper case'],
  ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata address 169.254.169.254'],
  ['::ffff:0:7f00:1', 'SIIT-translated loopback (::ffff:0:a.b.c.d)'],
  ['::ffff:0:10.0.0.1', 'SIIT-translated private address, dotted'],
  ['2002:7f00:1::', '6to4 of loopback'],
  ['2002:a9fe:a9fe::', '6to4 of the metadata address'],
  ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ['2001::1', 'Teredo prefix'],
  ['64:ff9b::7f00:1', 'NAT64 of loopback'],
  ['64:ff9b::169.254.169.254', 'NAT64 of the metadata address, dotted'],
  ['64:ff9b:1::a00:1', 'local-use NAT64 (64:ff9b:1::/48)'],
  ['64:ff9b:1:ffff::5db8:d822', 'local-use NAT64, even of a public IPv4'],
  ['fc00::1', 'unique local'],
  ['fd00:ec2::254', 'unique local, the EC2 IPv6 metadata address'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local with a zone'],
  ['febf::1', 'link-local, end of fe80::/10'],
  ['fec0::1', 'site-local (deprecated)'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'global multicast'],
  ['100::1', 'discard prefix'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation (3fff::/20)'],
  ['4000::1', 'outside global unicast (2000::/3)'],
  ['127.0.0.1', 'IPv4 loopback'],
  ['169.254.169.254', 'IPv4 metadata'],
  ['192.88.99.1', '6to4 relay anycast'],
  ['not-an-ip', 'not an address at all'],
];

const ALLOWED: [string, string][] = [
  ['93.184.216.34', 'a public IPv4'],
  ['::ffff:93.184.216.34', 'IPv4-mapped public address'],
  ['::ffff:5db8:d822', 'IPv4-mapped public address, in hex'],
  ['::ffff:0:93.184.216.34', 'SIIT-translated public address'],
  ['2002:5db8:d822::1', '6to4 of a public IPv4'],
  ['64:ff9b::93.184.216.34', 'NAT64 of a public IPv4'],
  ['2606:2800:220:1:248:1893:25c8:1946', 'a public IPv6'],
  ['2001:4860:4860::8888', 'a public IPv6 just past the IETF special-purpose block'],
];

describe('isInternalAddress', () => {
  for (const [address, what] of REFUSED) {
    it(`refuses ${address}: ${what}`, () => expect(isInternalAddress(address)).toBe(true));
  }
  for (const [address, what] of ALLOWED) {
    it(`allows ${address}: ${what}`, () => expect(isInternalAddress(address)).toBe(false));
  }
});

describe('checkPublicHost', () => {
  for (const host of ['[::127.0.0.1]', '[::ffff:0:7f00:1]', '[2002:7f00:1::]', '[2002:a9fe:a9fe::]', '[64:ff9b::a9fe:a9fe]', '[2001::53]']) {
    it(`refuses https://${host}/hook, as the URL parser normalizes it`, async () => {
      const verdict = await checkPublicHost(new URL(`https://${host}/hook`));
      expect(verdict).toMatchObject({ ok: false, reason: expect.stringContaining('an internal address') });
    });
  }

  it('accepts a public IPv6 literal', async () => {
    expect(await checkPublicHost(new URL('https://[2606:2800:220:1:248:1893:25c8:1946]/hook'))).toEqual({ ok: true });
  });
});
