// GET /v1/realtime: the WebSocket. The Origin is checked and, when the upgrade carries a
// credential, it is authenticated before the socket opens (a refusal is an ordinary problem
// answer); otherwise the first message must authenticate within 5 s. The room is always the
// credential's tenant: no message can name another.

import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { access } from '../http/access.js';
import { AppError } from '../http/problems.js';
import type { ModuleRoutes } from '../modules/module.js';
import { CLOSE } from './close-codes.js';
import type { Realtime } from './create-realtime.js';
import { parseClientMessage } from './protocol.js';
import type { RealtimeConnection } from './realtime-connection.js';
import type { SocketIdentity } from './socket-identity.js';

export interface RealtimeRouteDeps {
  readonly realtime: Realtime;
}

/** A socket that has not authenticated by then is closed (4401). */
const FIRST_MESSAGE_TIMEOUT_MS = 5_000;
/** Inbound frames larger than this are refused by ws itself (close 1009). */
const MAX_MESSAGE_BYTES = 16 * 1024;

const RealtimeQuery = Type.Object(
  {
    since: Type.Optional(Type.Integer({ minimum: 0, description: 'Resume after this sequence: the events missed since are sent first.' })),
    channels: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,39}(,[a-z][a-z0-9_]{0,39}){0,31}$', description: 'Comma-separated channels; all the role may read when absent.' })),
  },
  { additionalProperties: false },
);

interface Upgrade {
  readonly identity: SocketIdentity | undefined;
  readonly since: number | undefined;
  readonly channels: string[] | undefined;
}

export const realtimeRoutes: ModuleRoutes<RealtimeRouteDeps> = async (app, { realtime }) => {
  const { hub, authentication, allowedOrigins } = realtime;
  await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES } });
  app.addHook('onReady', async () => hub.start());
  app.addHook('onClose', async () => hub.stop());

  const upgrades = new WeakMap<FastifyRequest, Upgrade>();
  const hints = (request: FastifyRequest) => {
    const header = request.headers['x-tenant-id'];
    return { header: Array.isArray(header) ? header[0] : header, hostname: request.hostname };
  };

  app.get(
    '/v1/realtime',
    {
      websocket: true,
      config: { access: access.public },
      schema: {
        tags: ['realtime'],
        summary: 'Open the realtime WebSocket',
        description:
          'Upgrades to a WebSocket carrying the tenant\'s events (see docs/realtime.md). Authenticate with Authorization: Bearer <access token or API key> ' +
          'on the upgrade, or with {"type":"auth","token":…} as the first message within 5 s. An Origin not on TENANTRY_REALTIME_ORIGINS is refused with 403.',
        querystring: RealtimeQuery,
      },
      preHandler: async (request) => {
        const origin = request.headers.origin;
        // Browsers always send Origin on an upgrade; other clients need not, and carry no cookies of a victim.
        if (origin !== undefined && !allowedOrigins.has(origin)) {
          throw new AppError('forbidden', `WebSocket connections from the origin ${origin} are not allowed`);
        }
        const query = request.query as { since?: number; channels?: string };
        const channels = query.channels?.split(',');
        const authorization = request.headers.authorization;
        let identity: SocketIdentity | undefined;
        if (authorization !== undefined && authorization !== '') {
          const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
          if (!token) throw new AppError('invalid-credentials');
          identity = await authentication.authenticate(token, hints(request), request.id);
          hub.channelsFor(identity, channels);
          await hub.assertRoomFor(identity);
        }
        upgrades.set(request, { identity, since: query.since, channels });
      },
    },
    (socket, request) => {
      const upgrade = upgrades.get(request) ?? { identity: undefined, since: undefined, channels: undefined };
      if (upgrade.identity) {
        serve(socket, request, hub.join(socket, upgrade.identity, upgrade));
        return;
      }
      awaitFirstMessage(socket, request, upgrade);
    },
  );

  function awaitFirstMessage(socket: WebSocket, request: FastifyRequest, upgrade: Upgrade): void {
    const timer = setTimeout(() => socket.close(CLOSE.unauthenticated, 'authenticate within 5 s'), FIRST_MESSAGE_TIMEOUT_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('message', (data, isBinary) => {
      clearTimeout(timer);
      const message = isBinary ? undefined : parseClientMessage(data.toString());
      if (message?.type !== 'auth') {
        socket.close(CLOSE.protocolError, 'the first message must be {"type":"auth","token":…}');
        return;
      }
      const channels = message.channels ? [...message.channels] : upgrade.channels;
      void (async () => {
        const identity = await authentication.authenticate(message.token, hints(request), request.id);
        hub.channelsFor(identity, channels);
        await hub.assertRoomFor(identity);
        return identity;
      })().then(
        (identity) => {
          if (socket.readyState !== socket.OPEN) return;
          serve(socket, request, hub.join(socket, identity, { since: message.since ?? upgrade.since, channels }));
        },
        (error: unknown) => refuse(socket, request, error),
      );
    });
  }

  function serve(socket: WebSocket, request: FastifyRequest, connection: RealtimeConnection): void {
    socket.on('message', (data, isBinary) => {
      if (!connection.admitMessage()) return;
      const message = isBinary ? undefined : parseClientMessage(data.toString());
      if (!message || message.type === 'auth') {
        connection.close(CLOSE.protocolError, message ? 'already authenticated' : 'not a message of the realtime protocol');
        return;
      }
      if (message.type !== 'reauthenticate') {
        hub.handle(connection, message);
        return;
      }
      authentication.authenticate(message.token, hints(request), request.id).then(
        (identity) => hub.reauthenticated(connection, identity),
        (error: unknown) => refuse(socket, request, error),
      );
    });
  }

  function refuse(socket: WebSocket, request: FastifyRequest, error: unknown): void {
    const code = error instanceof AppError ? error.code : undefined;
    const detail = error instanceof AppError ? error.message : 'internal error';
    if (!code) request.log.error({ err: error }, 'realtime authentication failed');
    if (code && socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'error', code, detail }));
    socket.close(closeCodeOf(code), detail.slice(0, 120));
  }
};

/** The close code of a refusal, by its problem code. */
function closeCodeOf(code: string | undefined): number {
  switch (code) {
    case 'unauthenticated':
    case 'invalid-credentials':
    case 'token-expired':
      return CLOSE.unauthenticated;
    case 'tenant-suspended':
      return CLOSE.tenantSuspended;
    case 'plan-limit-reached':
      return CLOSE.connectionLimit;
    case 'validation-failed':
      return CLOSE.protocolError;
    case 'forbidden':
    case 'not-a-member':
    case 'tenant-mismatch':
    case 'tenant-not-found':
    case 'tenant-required':
      return CLOSE.accessRevoked;
    default:
      return CLOSE.tryAgainLater;
  }
}
