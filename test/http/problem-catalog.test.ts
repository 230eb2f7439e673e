// docs/errors.md is the published list of problem codes; PROBLEMS is the one the server
// answers with. This keeps the two in step: a code added, removed or changed in one only fails here.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../src/http/problems.js';

interface DocumentedProblem {
  readonly code: string;
  readonly status: number;
  readonly title: string;
}

/** Rows of the catalog table: | `code` | status | title | when |. */
function documentedProblems(markdown: string): DocumentedProblem[] {
  const rows: DocumentedProblem[] = [];
  for (const line of markdown.split('\n')) {
    const match = /^\|\s*`([^`]+)`\s*\|\s*(\d{3})\s*\|\s*([^|]+?)\s*\|/.exec(line);
    if (match) rows.push({ code: match[1]!, status: Number(match[2]), title: match[3]! });
  }
  return rows;
}

const documented = documentedProblems(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8'));

describe('the problem catalog in docs/errors.md', () => {
  it('lists every code once', () => {
    const codes = documented.map((row) => row.code);
    expect(codes.filter((code, index) => codes.indexOf(code) !== index)).toEqual([]);
  });

  it('lists exactly the codes the server answers with', () => {
    expect(documented.map((row) => row.code).sort()).toEqual(Object.keys(PROBLEMS).sort());
  });

  it('gives each code the status and title the server sends', () => {
    const fromCode = Object.entries(PROBLEMS).map(([code, { status, title }]) => ({ code, status, title }));
    expect([...documented].sort((a, b) => a.code.localeCompare(b.code))).toEqual(
      fromCode.sort((a, b) => a.code.localeCompare(b.code)),
    );
  });
});
