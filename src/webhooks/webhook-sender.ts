// Sends one signed webhook: a POST with bounded connect and response times, no redirects
// followed, and the address checked when the socket connects (request-filtering-agent refuses
// loopback, private, CGNAT, link-local and metadata addresses after DNS, whatever the host
// resolved to when the endpoint was saved). Only the allowed addresses configured pass.

import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import type { WebhookConfig } from '../config.js';

/** The first bytes of an answer kept in the delivery log. */
export const RESPONSE_BODY_LIMIT = 2048;

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SendResult {
  readonly ok: boolean;
  /** The receiver's status; undefined when no answer came (refused, timed out, unreachable). */
  readonly statusCode: number | undefined;
  readonly durationMs: number;
  readonly error: string | undefined;
  readonly responseBody: string | undefined;
}

export interface SenderOptions extends Pick<WebhookConfig, 'connectTimeoutMs' | 'responseTimeoutMs' | 'allowedAddresses'> {
  /** Name resolution at connect time; the system's by default (tests resolve a name to loopback). */
  readonly lookup?: LookupFunction;
}

export class WebhookSender {
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;

  constructor(private readonly options: SenderOptions) {
    // No keep-alive: every attempt connects, so every attempt's address is checked afresh.
    const filter = { keepAlive: false, allowIPAddressList: [...options.allowedAddresses] };
    this.#httpAgent = new RequestFilteringHttpAgent(filter);
    this.#httpsAgent = new RequestFilteringHttpsAgent(filter);
  }

  /** Never throws: every way an attempt can fail is a result the delivery log records. */
  send(request: WebhookRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (result: Omit<SendResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...result, durationMs: elapsed() });
      };
      const fail = (error: string, statusCode?: number) =>
        finish({ ok: false, statusCode, error, responseBody: undefined });

      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        fail('the endpoint URL is not valid');
        return;
      }
      const secure = url.protocol === 'https:';
      const client = secure ? https : http;
      const req = client.request(url, {
        method: 'POST',
        agent: secure ? this.#httpsAgent : this.#httpAgent,
        ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(request.body),
          'user-agent': 'Tenantry-Webhooks/1',
          ...request.headers,
        },
      });
      const abort = (why: string) => {
        fail(why);
        req.destroy(new Error(why));
      };
      timer = setTimeout(() => abort(`no connection within ${this.options.connectTimeoutMs} ms`), this.options.connectTimeoutMs);
      req.on('socket', (socket) => {
        socket.once(secure ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          timer = setTimeout(() => abort(`no complete answer within ${this.options.responseTimeoutMs} ms of connecting`), this.options.responseTimeoutMs);
        });
      });
      req.on('error', (error) => fail(describe(error)));
      req.on('response', (res) => {
        const statusCode = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < RESPONSE_BODY_LIMIT) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on('error', (error) => fail(describe(error), statusCode));
        res.on('end', () => {
          const responseBody = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_BODY_LIMIT).replace(/\u0000/g, '');
          const ok = statusCode >= 200 && statusCode < 300;
          // A redirect is an answer, not a new address to call: following it would let a
          // receiver point the server anywhere, past the address check.
          const error = ok ? undefined : statusCode >= 300 && statusCode < 400 ? `redirect (${statusCode}) not followed` : `answered ${statusCode}`;
          finish({ ok, statusCode, error, responseBody });
        });
      });
      req.end(request.body);
    });
  }
}

function describe(error: Error & { code?: string }): string {
  const message = error.message || String(error);
  return (error.code && !message.includes(error.code) ? `${error.code}: ${message}` : message).slice(0, 1000);
}
