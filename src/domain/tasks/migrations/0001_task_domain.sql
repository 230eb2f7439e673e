-- Up Migration
-- The sample task domain: projects, who works on each, and tasks. Every key, unique
-- constraint and foreign key carries tenant_id, so a row can never collide with, or point at,
-- a row of another tenant.
--
-- Deployments from before modules had folders created these tables in the platform's first
-- migration; there the tables exist and this migration only records itself.

DO $$
BEGIN
  IF to_regclass('public.tasks') IS NOT NULL THEN
    RETURN;
  END IF;

  CREATE TABLE projects (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    created_by   uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    PRIMARY KEY (tenant_id, id)
  );
  CREATE INDEX projects_tenant_created_idx ON projects (tenant_id, created_at);
  CREATE UNIQUE INDEX projects_name_key ON projects (tenant_id, lower(name)) WHERE deleted_at IS NULL;
  PERFORM tenantry.tenant_table('projects');

  CREATE TABLE project_members (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    project_id  uuid NOT NULL,
    user_id     uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    PRIMARY KEY (tenant_id, project_id, user_id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id)
  );
  CREATE INDEX project_members_tenant_created_idx ON project_members (tenant_id, created_at);
  CREATE INDEX project_members_user_idx ON project_members (tenant_id, user_id);
  PERFORM tenantry.tenant_table('project_members');

  CREATE TABLE tasks (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    project_id   uuid NOT NULL,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    status       text NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in_progress', 'done')),
    assignee_id  uuid,
    created_by   uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES memberships (tenant_id, user_id)
  );
  CREATE INDEX tasks_tenant_created_idx ON tasks (tenant_id, created_at);
  CREATE INDEX tasks_tenant_project_created_idx ON tasks (tenant_id, project_id, created_at);
  CREATE INDEX tasks_tenant_assignee_idx ON tasks (tenant_id, assignee_id) WHERE assignee_id IS NOT NULL;
  PERFORM tenantry.tenant_table('tasks');
END $$;

-- Down Migration
DROP TABLE tasks, project_members, projects;
