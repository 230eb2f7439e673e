// Request and response schemas of /v1/tasks. Bodies are strict (unknown fields refused);
// the list query adds filters to the shared pagination fields.

import { Type } from 'typebox';
import { Text, Timestamp, Uuid } from '../../http/common-schemas.js';
import { PageQuery } from '../../http/page.schemas.js';

const TaskStatus = Type.Union([Type.Literal('todo'), Type.Literal('in_progress'), Type.Literal('done')]);
const TaskTitle = Text({ minLength: 1, maxLength: 500, nonBlank: true });
const TaskDescription = Text({ maxLength: 20_000 });
const Assignee = Type.Union([Uuid, Type.Null()], { description: 'A member of this tenant; null for nobody' });

export const TaskView = Type.Object({
  id: Uuid,
  projectId: Uuid,
  title: Type.String(),
  description: Type.String(),
  status: TaskStatus,
  assigneeId: Type.Union([Uuid, Type.Null()]),
  createdBy: Type.Union([Uuid, Type.Null()], { description: 'The user who created it; null when an API key did' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const CreateTaskBody = Type.Object(
  {
    projectId: Uuid,
    title: TaskTitle,
    description: Type.Optional(TaskDescription),
    status: Type.Optional(TaskStatus),
    assigneeId: Type.Optional(Assignee),
  },
  { additionalProperties: false },
);

export const UpdateTaskBody = Type.Object(
  {
    projectId: Type.Optional(Uuid),
    title: Type.Optional(TaskTitle),
    description: Type.Optional(TaskDescription),
    status: Type.Optional(TaskStatus),
    assigneeId: Type.Optional(Assignee),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ListTasksQuery = Type.Object(
  {
    ...PageQuery,
    projectId: Type.Optional(Uuid),
    status: Type.Optional(TaskStatus),
    assigneeId: Type.Optional(Uuid),
    q: Type.Optional(Text({ minLength: 1, maxLength: 200, description: 'Text in the title or description' })),
  },
  { additionalProperties: false },
);
