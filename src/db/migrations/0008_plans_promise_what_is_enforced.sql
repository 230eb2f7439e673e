-- Up Migration
-- Plans promise only what Tenantry enforces. The catalog advertised `memories` limits and
-- an `sso` feature that nothing enforced (the agent-memory module and single sign-on do not
-- exist yet), and the `tasks` metric, whose quota the task domain does take, had no limit in
-- any plan. Now: `memories` leaves every plan's limits (it stays a metric clients may
-- report, with no limit to be measured against), `sso` leaves the flag catalog, and the
-- plans limit tasks per billing period. `agents` (live API keys of kind agent, counted when
-- one is created) becomes a metric of its own so its limit is taken like seats. The seed
-- rows of src/plans/catalog.json follow; a test keeps the two in step.

-- Every change of platform data is audited: the before and after of each plan's limits.
-- An operator's own value for tasks is kept; memories goes whatever it was.
WITH before AS (
  SELECT key, limits FROM plans
), wanted (key, tasks) AS (
  VALUES ('free', '1000'::jsonb), ('pro', '50000'::jsonb), ('promax', 'null'::jsonb), ('enterprise', 'null'::jsonb)
), changed AS (
  UPDATE plans p
     SET limits = jsonb_build_object('tasks', w.tasks) || (p.limits - 'memories'), updated_at = now()
    FROM before b, wanted w
   WHERE b.key = p.key AND w.key = p.key
  RETURNING p.key, b.limits AS before, p.limits AS after
)
INSERT INTO platform_audit_log (id, actor, action, target, before, after)
  SELECT gen_random_uuid(), 'system', 'plan.limits_changed', 'plan:' || key,
         jsonb_build_object('limits', before), jsonb_build_object('limits', after, 'reason', 'plans promise only what is enforced')
    FROM changed WHERE before IS DISTINCT FROM after;

-- Deleting the flag deletes its plan defaults and any tenant override with it (cascade).
WITH removed AS (
  DELETE FROM flag_definitions WHERE key = 'sso'
  RETURNING key, kind, description, default_value, rollout_basis_points, bucket_by, tenant_editable
)
INSERT INTO platform_audit_log (id, actor, action, target, before, after)
  SELECT gen_random_uuid(), 'system', 'flag.deleted', 'flag:' || key,
         jsonb_build_object('key', key, 'kind', kind, 'description', description, 'defaultValue', default_value,
                            'rolloutBasisPoints', rollout_basis_points, 'bucketBy', bucket_by, 'tenantEditable', tenant_editable),
         NULL
    FROM removed;

-- Agent keys are a level, like seats: counted when a key is created, never reset.
INSERT INTO usage_metrics (key, unit, aggregation, resets, enforcement, description) VALUES
  ('agents', 'agents', 'max', false, 'hard', 'Live agent API keys of the tenant')
ON CONFLICT (key) DO NOTHING;

-- Nothing in Tenantry stores memories, so nothing can refuse one: a plain reported metric.
UPDATE usage_metrics SET enforcement = 'soft' WHERE key = 'memories';

-- Down Migration
UPDATE usage_metrics SET enforcement = 'hard' WHERE key = 'memories';
DELETE FROM usage_metrics WHERE key = 'agents';
INSERT INTO flag_definitions (key, kind, description, default_value, rollout_basis_points, bucket_by, tenant_editable) VALUES
  ('sso', 'boolean', 'Single sign-on', 'false', NULL, 'tenantId', false)
ON CONFLICT (key) DO NOTHING;
INSERT INTO flag_plan_defaults (flag_key, plan_key, value) VALUES ('sso', 'enterprise', 'true') ON CONFLICT DO NOTHING;
UPDATE plans p
   SET limits = (p.limits - 'tasks') || jsonb_build_object('memories', w.memories), updated_at = now()
  FROM (VALUES ('free', '1000'::jsonb), ('pro', '50000'::jsonb), ('promax', '500000'::jsonb), ('enterprise', 'null'::jsonb)) AS w (key, memories)
 WHERE w.key = p.key;
