// Request and response schemas of /v1/projects. The list query's pagination fields are
// shared with the task list (page.schemas.ts).

import { Type } from 'typebox';
import { Text, Timestamp, Uuid } from '../../http/common-schemas.js';
import { PageQuery } from '../../http/page.schemas.js';

const ProjectName = Text({ minLength: 1, maxLength: 200, nonBlank: true });
const ProjectDescription = Text({ maxLength: 10_000 });

export const ProjectView = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  createdBy: Type.Union([Uuid, Type.Null()], { description: 'The user who created it; null when an API key did' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const CreateProjectBody = Type.Object(
  { name: ProjectName, description: Type.Optional(ProjectDescription) },
  { additionalProperties: false },
);

export const UpdateProjectBody = Type.Object(
  { name: Type.Optional(ProjectName), description: Type.Optional(ProjectDescription) },
  { additionalProperties: false, minProperties: 1 },
);

export const ListProjectsQuery = Type.Object(PageQuery, { additionalProperties: false });
