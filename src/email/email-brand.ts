// The tenant's branding as an email shows it: its name, its logo (if its plan includes custom
// branding; settings resolve that) and its primary colour. Platform emails that belong to no
// tenant use Tenantry's own.

export interface EmailBrand {
  readonly name: string;
  readonly logoUrl: string | null;
  /** A #rgb or #rrggbb colour (settings validate it on the way in; checked again here). */
  readonly primaryColor: string;
}

export const PLATFORM_BRAND: EmailBrand = Object.freeze({ name: 'Tenantry', logoUrl: null, primaryColor: '#4f46e5' });

const HEX_COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** From resolved settings (TenantSettings.resolve), whose values are validated but re-checked: they land in CSS. */
export function brandFromSettings(resolved: { readonly name: string; readonly values: { readonly logoUrl: string | null; readonly primaryColor: string | null } }): EmailBrand {
  const color = resolved.values.primaryColor;
  return {
    name: resolved.name,
    logoUrl: resolved.values.logoUrl,
    primaryColor: color && HEX_COLOR.test(color) ? color : PLATFORM_BRAND.primaryColor,
  };
}
