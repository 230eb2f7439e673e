// The settings a tenant can have, their global defaults, and how each value is checked.
// Branding keys are kept in tenants.branding, the others in tenants.settings. Outbound webhooks
// are configured as the webhooks module's endpoints (/v1/webhooks/endpoints), not as a setting.

export const BRANDING_KEYS = ['logoUrl', 'primaryColor', 'accentColor'] as const;
export const GENERAL_KEYS = ['timeZone', 'locale', 'supportUrl'] as const;
export const SETTING_KEYS = [...GENERAL_KEYS, ...BRANDING_KEYS] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];
export type SettingValues = { readonly [K in SettingKey]: string | null };

export const DEFAULT_SETTINGS: SettingValues = {
  timeZone: 'UTC',
  locale: 'en-US',
  supportUrl: 'https://tenantry.dev/support',
  logoUrl: null,
  primaryColor: '#4f46e5',
  accentColor: '#f59e0b',
};

/** Shared with the schemas (settings.schemas.ts), so the document states the rule the server applies. */
export const HEX_COLOR_PATTERN = '^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$';
const HEX_COLOR = new RegExp(HEX_COLOR_PATTERN);
const TIME_ZONES = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

/** A well-formed https URL without credentials; undefined when fine, else why not. */
function httpsProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a well-formed URL';
  }
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (!url.hostname) return 'must name a host';
  if (url.username || url.password) return 'must not carry credentials';
  return undefined;
}

/** Checks one value and returns it in canonical form, or throws a message for the field. */
export async function normalizeSetting(key: SettingKey, value: string): Promise<string> {
  switch (key) {
    case 'primaryColor':
    case 'accentColor':
      if (!HEX_COLOR.test(value)) throw new Error('must be a hex color, #rgb or #rrggbb');
      return value.toLowerCase();
    case 'timeZone':
      if (!TIME_ZONES.has(value)) throw new Error('must be an IANA time zone name, e.g. Europe/Paris');
      return value;
    case 'locale': {
      let canonical: string[];
      try {
        canonical = Intl.getCanonicalLocales(value);
      } catch {
        throw new Error('must be a BCP 47 language tag, e.g. en-GB');
      }
      if (canonical.length !== 1) throw new Error('must be one BCP 47 language tag');
      return canonical[0]!;
    }
    case 'logoUrl':
    case 'supportUrl': {
      const problem = httpsProblem(value);
      if (problem) throw new Error(problem);
      return new URL(value).href;
    }
  }
}
