// Layer 1 for agent keys: an actor that is an agent's key sees and changes only that agent's
// memories. Every memory use case narrows by it here, in the query; the RESTRICTIVE policies of
// migration 0004 (on app.agent_id) hold the same line on their own.

import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import type { MemoryFilter } from './memory-repository.js';

/** The agent the actor acts as, when it is an agent's key. */
export function actingAgent(actor: Actor): string | undefined {
  return actor.kind === 'api_key' ? actor.agentId : undefined;
}

/** 403 when an agent's key names another agent; otherwise the agent the work is for. */
export function ownAgent(actor: Actor, requested: string | undefined, field: string): string | undefined {
  const agent = actingAgent(actor);
  if (agent === undefined) return requested;
  if (requested !== undefined && requested !== agent) {
    throw new AppError('forbidden', `an agent's API key acts only as its own agent: ${field} must be ${agent} or left out`, { field });
  }
  return agent;
}

/** The filter narrowed to the actor's agent, if it is an agent's key. */
export function scopedFilter(actor: Actor, filter: MemoryFilter, field = 'agentId'): MemoryFilter {
  const agentId = ownAgent(actor, filter.agentId, field);
  return agentId === filter.agentId ? filter : { ...filter, agentId };
}
