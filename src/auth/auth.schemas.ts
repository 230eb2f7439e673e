// Request and response schemas of the session routes (refresh, logout) and the token pair.

import { Type } from 'typebox';
import { Text } from '../http/common-schemas.js';

export const TokenPairView = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  tokenType: Type.Literal('Bearer'),
});

export const RefreshBody = Type.Object({ refreshToken: Text({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });

export const LogoutBody = Type.Object(
  { refreshToken: Type.Optional(Text({ minLength: 1, maxLength: 512 })) },
  { additionalProperties: false },
);
