// The save-time check of an endpoint's URL: https (http only where configured), no
// credentials or fragment, and a host whose every resolved address is public or explicitly
// allowed. DNS can change after saving, so the sender checks again when it connects.

import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { WebhookConfig } from '../config.js';
import { AppError } from '../http/problems.js';
import { isInternalAddress } from '../settings/public-address.js';

export type AddressResolver = (host: string) => Promise<string[]>;

const systemResolver: AddressResolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** The configured exceptions (tests' local receivers), as a BlockList to match addresses against. */
export function allowedAddressList(config: Pick<WebhookConfig, 'allowedAddresses'>): BlockList {
  const list = new BlockList();
  for (const entry of config.allowedAddresses) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

function refused(field: string, reason: string): AppError {
  return new AppError('webhook-url-refused', `${field} ${reason}`, { field });
}

/** The URL as it will be stored, or a webhook-url-refused problem naming `field`. */
export async function checkEndpointUrl(
  raw: string,
  config: Pick<WebhookConfig, 'allowHttp' | 'allowedAddresses'>,
  field: string,
  resolve: AddressResolver = systemResolver,
): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused(field, 'is not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(config.allowHttp && url.protocol === 'http:')) {
    throw refused(field, config.allowHttp ? 'must be an http or https URL' : 'must be an https URL');
  }
  if (url.username || url.password) throw refused(field, 'must not carry credentials');
  if (url.hash) throw refused(field, 'must not have a fragment');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch {
    addresses = [];
  }
  if (addresses.length === 0) throw refused(field, `names host "${host}", which does not resolve`);
  const allowed = allowedAddressList(config);
  const internal = addresses.find((address) => isInternalAddress(address) && !allowed.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4'));
  if (internal) throw refused(field, `names host "${host}", which resolves to ${internal}, an internal address`);
  return url.href;
}
