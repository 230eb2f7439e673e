// Request and response schemas of /v1/projects/:id/members.

import { Type } from 'typebox';
import { RoleSchema, Timestamp, Uuid } from '../../http/common-schemas.js';

export const ProjectMemberView = Type.Object({
  userId: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  addedAt: Timestamp,
});

export const AddProjectMemberBody = Type.Object(
  { userId: Type.String({ format: 'uuid', description: 'A member of this tenant' }) },
  { additionalProperties: false },
);

export const ProjectMemberParams = Type.Object({ id: Uuid, userId: Uuid }, { additionalProperties: false });
