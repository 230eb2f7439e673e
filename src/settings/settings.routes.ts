// GET/PATCH /v1/tenant/settings (owners and admins) and GET /v1/tenant/branding (public:
// the login page of a tenant named by subdomain or X-Tenant-ID gets its branding, only that).

import type { Database } from '../db/database.js';
import { access, actorOf } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import { AppError } from '../http/problems.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { Actor } from '../tenancy/actor.js';
import { findLiveTenant, findLiveTenantBySubdomain } from '../tenancy/tenant-repository.js';
import { BRANDING_FEATURE, setsBranding } from './branding-gate.js';
import { BrandingView, SettingsPatchBody, SettingsView } from './settings.schemas.js';
import type { ResolvedSettings, TenantSettings } from './tenant-settings.js';

function settingsView(resolved: ResolvedSettings) {
  const { values } = resolved;
  return {
    timeZone: values.timeZone!,
    locale: values.locale!,
    supportUrl: values.supportUrl,
    branding: { logoUrl: values.logoUrl, primaryColor: values.primaryColor!, accentColor: values.accentColor! },
    sources: { ...resolved.sources },
  };
}

export interface SettingsRouteDeps {
  readonly db: Database;
  readonly settings: TenantSettings;
  /** The plan gate: branding is a plan feature. */
  readonly requireFeature: (feature: string, actor: Actor) => Promise<void>;
  /** Lowercase; tenants are also named by <subdomain>.<baseDomain> when set (TENANTRY_BASE_DOMAIN). */
  readonly baseDomain: string | undefined;
}

export const settingsRoutes: ModuleRoutes<SettingsRouteDeps> = async (app, { db, settings, requireFeature, baseDomain }) => {
  const security = [{ bearer: [] }];

  async function current(tenantId: string) {
    const resolved = await settings.resolve(tenantId);
    if (!resolved) throw new AppError('tenant-not-found');
    return settingsView(resolved);
  }

  app.get(
    '/v1/tenant/settings',
    {
      config: { access: access.tenant('admin') },
      schema: { tags: ['settings'], summary: "The tenant's settings, resolved default -> plan -> tenant", security, response: { 200: SettingsView, ...problems(400, 401, 403, 404) } },
    },
    async (request) => current(actorOf(request).tenantId),
  );

  app.patch(
    '/v1/tenant/settings',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['settings'],
        summary: 'Change settings (owner or admin): hex colors, https URLs, IANA time zone, BCP 47 locale',
        description:
          'Takes the shape GET returns, any subset of its fields (branding nested; sources is read-only); null puts a value back to the ' +
          'plan or global default. Setting a logo or colors needs a plan with the custom_branding feature: without it the whole request is refused with ' +
          '403 feature-not-in-plan (feature, required_plan) and nothing changes. Clearing them (null) is always allowed.',
        security,
        body: SettingsPatchBody,
        response: { 200: SettingsView, ...problems(400, 401, 'feature-not-in-plan', 404, 415) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { branding, ...general } = request.body;
      const patch = { ...general, ...branding };
      // Before anything is checked or written: a refused request changes nothing.
      if (setsBranding(patch)) await requireFeature(BRANDING_FEATURE, actor);
      await settings.update(actor, patch);
      return current(actor.tenantId);
    },
  );

  app.get(
    '/v1/tenant/branding',
    {
      config: { access: access.public },
      schema: {
        tags: ['settings'],
        summary: "A tenant's branding for its login page: named by subdomain of TENANTRY_BASE_DOMAIN or X-Tenant-ID (id or slug)",
        response: { 200: BrandingView, ...problems(400, 404) },
      },
    },
    async (request) => {
      const header = request.headers['x-tenant-id'];
      const named = (Array.isArray(header) ? header[0] : header)?.trim();
      const host = request.hostname.toLowerCase();
      const label = baseDomain && host.endsWith('.' + baseDomain) ? host.slice(0, -(baseDomain.length + 1)) : undefined;
      const subdomain = label && !label.includes('.') ? label : undefined;
      if (!named && !subdomain) throw new AppError('tenant-required', 'name the tenant by its subdomain or the X-Tenant-ID header');
      const tenant = await db.identity({}, (tx) => (named ? findLiveTenant(tx, named) : findLiveTenantBySubdomain(tx, subdomain!)));
      if (!tenant) throw new AppError('tenant-not-found');
      // The profile loader enters the named tenant itself: this public request acts in none.
      const resolved = await settings.resolve(tenant.id);
      if (!resolved) throw new AppError('tenant-not-found');
      return {
        name: resolved.name,
        logoUrl: resolved.values.logoUrl,
        primaryColor: resolved.values.primaryColor!,
        accentColor: resolved.values.accentColor!,
      };
    },
  );
};
