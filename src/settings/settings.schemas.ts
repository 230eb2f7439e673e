// Request and response schemas of /v1/tenant/settings and /v1/tenant/branding. PATCH takes the
// shape GET returns (branding nested), any subset of it; each field states the rule the server
// applies, and setting-definitions.ts checks the rest (real time zones, canonical locales).

import { Type } from 'typebox';
import { explainedPattern } from '../http/validation-messages.js';
import { HEX_COLOR_PATTERN } from './setting-definitions.js';

const Source = Type.Union([Type.Literal('default'), Type.Literal('plan'), Type.Literal('tenant')]);

const HexColor = Type.String({
  pattern: explainedPattern(HEX_COLOR_PATTERN, 'must be a hex color, #rgb or #rrggbb'),
  description: 'Hex color, #rgb or #rrggbb (stored lower-case)',
  examples: ['#4f46e5'],
});
const HttpsUrl = Type.String({
  format: 'uri',
  maxLength: 2048,
  // Text is stored as is: white space, NUL and lone surrogate halves are refused like everywhere (common-schemas.ts).
  pattern: explainedPattern(
    '^https://[^\\s\\u0000\\uD800-\\uDFFF@/?#]+(?:[/?#][^\\s\\u0000\\uD800-\\uDFFF]*)?$',
    'must be an https URL without credentials, white space, NUL (\\u0000) or unpaired UTF-16 surrogate',
  ),
  description: 'An https URL without credentials',
});
const TimeZone = Type.String({
  maxLength: 64,
  pattern: explainedPattern('^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$', 'must be an IANA time zone name, e.g. Europe/Paris'),
  description: 'An IANA time zone name the server knows, e.g. Europe/Paris, or UTC',
  examples: ['Europe/Paris'],
});
const Locale = Type.String({
  maxLength: 35,
  pattern: explainedPattern('^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$', 'must be a BCP 47 language tag, e.g. en-GB'),
  description: 'A BCP 47 language tag, e.g. en-GB (stored in canonical case)',
  examples: ['en-GB'],
});

/** A value the tenant sets, or null to fall back to the plan's or the global default. */
function settable(value: ReturnType<typeof Type.String>) {
  return Type.Optional(Type.Union([value, Type.Null()], { description: `${String((value as { description?: string }).description)}; null: back to the plan or global default` }));
}

export const SettingsView = Type.Object({
  timeZone: TimeZone,
  locale: Locale,
  supportUrl: Type.Union([HttpsUrl, Type.Null()]),
  branding: Type.Object({ logoUrl: Type.Union([HttpsUrl, Type.Null()]), primaryColor: HexColor, accentColor: HexColor }),
  sources: Type.Record(Type.String(), Source, { description: 'Per setting: the level its value came from (read-only)' }),
});

export const SettingsPatchBody = Type.Object(
  {
    timeZone: settable(TimeZone),
    locale: settable(Locale),
    supportUrl: settable(HttpsUrl),
    branding: Type.Optional(
      Type.Object(
        { logoUrl: settable(HttpsUrl), primaryColor: settable(HexColor), accentColor: settable(HexColor) },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const BrandingView = Type.Object({
  name: Type.String(),
  logoUrl: Type.Union([HttpsUrl, Type.Null()]),
  primaryColor: HexColor,
  accentColor: HexColor,
});
