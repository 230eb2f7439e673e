// Signing secrets at rest: HMAC needs the secret itself, so it cannot be kept as a one-way
// hash. It is sealed with AES-256-GCM under the server's webhook key, with the tenant and
// endpoint as associated data: a sealed value copied to another row or tenant never opens.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { AppError } from '../http/problems.js';
import { loadOrCreateWebhookKey } from './secret-key-file.js';

const VERSION = 'v1';

/** Which row a secret belongs to; sealed into the ciphertext as associated data. */
export interface SecretOwner {
  readonly tenantId: string;
  readonly endpointId: string;
}

function associatedData(owner: SecretOwner): Buffer {
  return Buffer.from(`webhook-endpoint:${owner.tenantId}:${owner.endpointId}`, 'utf8');
}

export class SecretBox {
  #key: Promise<Buffer> | undefined;

  constructor(private readonly loadKey: () => Promise<Buffer>) {}

  /** The key from TENANTRY_WEBHOOK_SECRET_KEY, or (embedded database only) the data folder's key file. */
  static fromConfig(config: Pick<Config, 'webhooks' | 'databaseUrl' | 'dataDir'>): SecretBox {
    return new SecretBox(async () => {
      if (config.webhooks.secretKey) return config.webhooks.secretKey;
      // Instances sharing an external database must share the key; one file per instance would not.
      if (config.databaseUrl) {
        throw new AppError('webhook-signing-unavailable', 'set TENANTRY_WEBHOOK_SECRET_KEY to use webhooks with an external database');
      }
      return loadOrCreateWebhookKey(config.dataDir);
    });
  }

  async seal(secret: string, owner: SecretOwner): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await this.#keyOnce(), iv);
    cipher.setAAD(associatedData(owner));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join(':');
  }

  /** Throws when the value was sealed under another key or for another row. */
  async open(value: string, owner: SecretOwner): Promise<string> {
    const [version, iv, tag, sealed] = value.split(':');
    if (version !== VERSION || !iv || !tag || sealed === undefined) throw new Error('sealed webhook secret has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', await this.#keyOnce(), Buffer.from(iv, 'base64'));
    decipher.setAAD(associatedData(owner));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64')), decipher.final()]).toString('utf8');
  }

  #keyOnce(): Promise<Buffer> {
    const loading = (this.#key ??= this.loadKey());
    // A failed load (no key configured yet) is tried again next time, not remembered.
    loading.catch(() => {
      if (this.#key === loading) this.#key = undefined;
    });
    return loading;
  }
}
