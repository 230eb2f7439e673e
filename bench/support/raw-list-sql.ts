// The SELECT the raw server of bench:peers sends: Tenantry's GET /v1/tasks?limit=50 as its query
// layer compiles it (tenant predicate included), written out by hand. peers.bench.ts compiles
// Tenantry's and refuses to run when the two differ, so "identical" stays true.

export const RAW_LIST_SQL =
  'select "id", "project_id", "title", "description", "status", "assignee_id", "created_by", "created_at", "updated_at" ' +
  'from "tasks" where ("deleted_at" is null) and "tasks"."tenant_id" = $1 order by "created_at" desc, "id" desc limit $2';
