// Request and response schemas of the account's own security: email verification and change,
// password change and reset.

import { Type } from 'typebox';
import { Email, Password, Text } from '../http/common-schemas.js';

const Token = Text({ minLength: 1, maxLength: 512, description: 'The token from the emailed link' });
const CurrentPassword = Text({ minLength: 1, maxLength: 256 });

export const TokenBody = Type.Object({ token: Token }, { additionalProperties: false });

export const VerifiedView = Type.Object({
  email: Email,
  verified: Type.Literal(true),
  changed: Type.Boolean({ description: "True when the account's address changed to this one" }),
});

export const VerificationStatusView = Type.Object({ email: Email, verified: Type.Boolean() });

export const ChangeEmailBody = Type.Object({ email: Email, currentPassword: CurrentPassword }, { additionalProperties: false });

export const ChangePasswordBody = Type.Object({ currentPassword: CurrentPassword, newPassword: Password }, { additionalProperties: false });

export const ResetRequestBody = Type.Object({ email: Email }, { additionalProperties: false });

export const ResetConfirmBody = Type.Object({ token: Token, newPassword: Password }, { additionalProperties: false });

export const AcceptedView = Type.Object({
  status: Type.Literal('accepted'),
  detail: Type.String(),
});
