// The rules for agents: the plan limits how many a tenant has (taken under the counter's
// lock, so concurrent creates at the limit never overshoot), names are unique among the
// tenant's live agents, and deleting an agent forgets its memories with it.

import type { Clock } from '../clock.js';
import { isUniqueViolation } from '../db/constraint-violation.js';
import { newId } from '../db/ids.js';
import type { Page, PageRequest } from '../db/keyset-page.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import { findAgent, insertAgent, listAgents, softDeleteAgent, updateAgent, type AgentChanges, type AgentRow } from './agent-repository.js';
import { forgetMemories } from './memory-repository.js';
import type { MemoryDatabase } from './memory-tables.js';
import type { MemoryUsage } from './memory-usage.js';

export interface NewAgentInput {
  readonly name: string;
  readonly description?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

function notFound(): AppError {
  return new AppError('not-found', 'no agent with this id');
}

/** A second live agent of the same name (case-insensitive) is refused by the unique index. */
function nameTaken(name: string, error: unknown): AppError | undefined {
  if (!isUniqueViolation(error, 'agents_name_key')) return undefined;
  return new AppError('conflict', `an agent named ${JSON.stringify(name)} exists already`, { field: 'name' }, { cause: error });
}

export class AgentManagement {
  constructor(
    private readonly db: MemoryDatabase,
    private readonly clock: Clock,
    private readonly usage: MemoryUsage,
  ) {}

  create(actor: Actor, input: NewAgentInput): Promise<AgentRow> {
    return this.db
      .tenant(async (tx) => {
        await this.usage.agentAdded(tx, actor);
        return insertAgent(tx, { id: newId(), name: input.name, description: input.description ?? '', metadata: input.metadata ?? {} });
      })
      .catch((error: unknown) => {
        throw nameTaken(input.name, error) ?? error;
      });
  }

  async get(actor: Actor, id: string): Promise<AgentRow> {
    const agent = await this.db.tenant((tx) => findAgent(tx, id));
    if (!agent) throw notFound();
    return agent;
  }

  list(actor: Actor, page: PageRequest): Promise<Page<AgentRow>> {
    return this.db.tenant((tx) => listAgents(tx, page));
  }

  async update(actor: Actor, id: string, changes: AgentChanges): Promise<AgentRow> {
    const now = this.clock.now();
    const agent = await this.db.tenant((tx) => updateAgent(tx, id, changes, now)).catch((error: unknown) => {
      throw (changes.name !== undefined && nameTaken(changes.name, error)) || error;
    });
    if (!agent) throw notFound();
    return agent;
  }

  /** Deletes the agent and forgets its memories; returns how many were forgotten. */
  async remove(actor: Actor, id: string): Promise<number> {
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      // Counter locks first, agents then memories, in the order create and store take them.
      await this.usage.lockAgents(tx);
      await this.usage.lock(tx);
      if (!(await softDeleteAgent(tx, id, now))) throw notFound();
      const forgotten = await forgetMemories(tx, { agentId: id }, now);
      await this.usage.agentRemoved(tx, actor);
      if (forgotten > 0) await this.usage.memoriesChanged(tx, actor);
      return forgotten;
    });
  }
}
