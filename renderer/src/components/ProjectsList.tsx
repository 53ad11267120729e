/**
 * ProjectsList: every project with its configuration, sample count and
 * creation date. Typing in the search box filters the loaded list at once
 * and, after a short pause, asks the server too (its matches are added).
 *
 * data-testid: `projects` (screen), `projects-search`, `projects-table`,
 * `project-row` (with `data-project-id`), `project-open` (the name button),
 * `projects-empty`, `projects-error`, `projects-refresh`,
 * `projects-search-status`.
 */
import { useEffect, useMemo, useState } from 'react';

import type { ProjectSummary } from '../../../shared/domain.ts';
import { formatDateTime, parseTimestamp, plural } from '../lib/format.ts';
import { useAppStore } from '../store/react.tsx';
import { ErrorNote } from './ErrorNote.tsx';

/** How long typing must pause before the server is searched. */
export const SERVER_SEARCH_DELAY_MS = 300;

/** matchesProject is the client-side filter: name, description, configuration, id. */
export function matchesProject(
  project: ProjectSummary,
  query: string,
): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') {
    return true;
  }
  return [
    project.name,
    project.description,
    project.configurationName ?? '',
    project.pipelineCapabilities,
    project.id,
  ].some((field) => field.toLowerCase().includes(q));
}

function configurationOf(project: ProjectSummary): string {
  return project.configurationName || project.pipelineCapabilities || '—';
}

export function ProjectsList() {
  const projects = useAppStore((s) => s.projects);
  const loadProjects = useAppStore((s) => s.loadProjects);
  const searchProjects = useAppStore((s) => s.searchProjects);
  const navigate = useAppStore((s) => s.navigate);
  const [query, setQuery] = useState('');

  useEffect(() => {
    void loadProjects();
  }, [loadProjects]);

  useEffect(() => {
    const timer = setTimeout(() => {
      void searchProjects(query);
    }, SERVER_SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [query, searchProjects]);

  const shown = useMemo(() => {
    const byId = new Map<string, ProjectSummary>();
    for (const p of projects.items) {
      if (matchesProject(p, query)) {
        byId.set(p.id, p);
      }
    }
    const search = projects.search;
    if (search && search.query === query.trim() && search.status === 'ready') {
      for (const p of search.items) {
        byId.set(p.id, p);
      }
    }
    return [...byId.values()].sort(
      (a, b) =>
        (parseTimestamp(b.created) || 0) - (parseTimestamp(a.created) || 0),
    );
  }, [projects.items, projects.search, query]);

  const searching =
    query.trim() !== '' &&
    (projects.search?.status === 'loading' ||
      projects.search?.query !== query.trim());

  return (
    <section
      className="page"
      data-testid="projects"
      aria-labelledby="projects-title"
    >
      <header className="page-header">
        <div>
          <h1 id="projects-title">Projects</h1>
          <p className="muted">
            {projects.status === 'ready' || projects.items.length > 0
              ? plural(projects.items.length, 'project')
              : 'Loading projects…'}
          </p>
        </div>
        <div className="page-actions">
          <label className="search-field">
            <span className="visually-hidden">Search projects</span>
            <input
              type="search"
              placeholder="Search projects"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              data-testid="projects-search"
            />
          </label>
          <button
            type="button"
            className="button"
            onClick={() => void loadProjects()}
            disabled={projects.status === 'loading'}
            data-testid="projects-refresh"
          >
            {projects.status === 'loading' ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
      </header>

      {projects.error ? (
        <ErrorNote
          error={projects.error}
          title="Could not load the projects."
          onRetry={() => void loadProjects()}
          testId="projects-error"
        />
      ) : null}
      {projects.search?.status === 'error' && projects.search.error ? (
        <ErrorNote
          error={projects.search.error}
          title="The server search failed; showing matches among loaded projects."
          testId="projects-search-error"
        />
      ) : null}

      <p
        className="muted small"
        aria-live="polite"
        data-testid="projects-search-status"
      >
        {query.trim() === ''
          ? ''
          : searching
            ? `Searching the server for “${query.trim()}”…`
            : `${plural(shown.length, 'match', 'matches')} for “${query.trim()}”`}
      </p>

      {shown.length === 0 && projects.status === 'ready' && !searching ? (
        <div className="empty" data-testid="projects-empty">
          {query.trim() === ''
            ? 'This account has no projects yet. Create one on the platform, then refresh.'
            : `No project matches “${query.trim()}”.`}
        </div>
      ) : null}

      {shown.length > 0 ? (
        <div className="table-card">
          <table className="table" data-testid="projects-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Configuration</th>
                <th scope="col" className="num">
                  Samples
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((p) => (
                <tr
                  key={p.id}
                  className="clickable-row"
                  data-testid="project-row"
                  data-project-id={p.id}
                  onClick={() => navigate({ name: 'project', projectId: p.id })}
                >
                  <td>
                    <button
                      type="button"
                      className="link-button strong"
                      onClick={(e) => {
                        e.stopPropagation();
                        navigate({ name: 'project', projectId: p.id });
                      }}
                      data-testid="project-open"
                    >
                      {p.name}
                    </button>
                    {p.description ? (
                      <div className="muted small clamp">{p.description}</div>
                    ) : null}
                  </td>
                  <td>{configurationOf(p)}</td>
                  <td className="num">{p.sampleCount.toLocaleString()}</td>
                  <td className="nowrap">{formatDateTime(p.created)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
