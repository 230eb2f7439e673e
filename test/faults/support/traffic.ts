// An HTTP client for fault tests that keeps every answer it got (status, time taken, problem
// type, Retry-After), so a test can say what clients saw while the database was failing.

export interface Answer {
  readonly method: string;
  readonly path: string;
  /** 0: no answer within the client's timeout (the server hung). */
  readonly status: number;
  readonly ms: number;
  /** performance.now() when the answer came. */
  readonly at: number;
  readonly contentType: string | null;
  readonly retryAfter: string | null;
  readonly body: Record<string, unknown> | undefined;
}

export interface SendOptions {
  readonly token?: string;
  readonly body?: unknown;
}

/** Longer than any server-side bound: an answer this late is a hang. */
const CLIENT_TIMEOUT_MS = 10_000;

export class Traffic {
  readonly answers: Answer[] = [];

  constructor(private readonly baseUrl: string) {}

  async send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    const started = performance.now();
    let answer: Answer;
    try {
      const response = await fetch(this.baseUrl + path, {
        method,
        headers: {
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      const text = await response.text();
      answer = {
        method,
        path,
        status: response.status,
        ms: performance.now() - started,
        at: performance.now(),
        contentType: response.headers.get('content-type'),
        retryAfter: response.headers.get('retry-after'),
        body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
      };
    } catch {
      answer = { method, path, status: 0, ms: performance.now() - started, at: performance.now(), contentType: null, retryAfter: null, body: undefined };
    }
    this.answers.push(answer);
    return answer;
  }

  /** Answers a client must not get, whatever the database does: a hang, or any 5xx but 503. */
  unacceptable(): Answer[] {
    return this.answers.filter((answer) => answer.status === 0 || (answer.status >= 500 && answer.status !== 503));
  }

  /** 503s that are not problem+json with a Retry-After a client can act on. */
  unhelpfulRefusals(): Answer[] {
    return this.answers.filter(
      (answer) =>
        answer.status === 503 &&
        !(answer.contentType?.startsWith('application/problem+json') && Number(answer.retryAfter) >= 1 && typeof answer.body?.type === 'string'),
    );
  }
}
