/**
 * Projects slice: the project list and server-side search results.
 */
import type { ContractError } from '../../../shared/contract.ts';
import type { ProjectSummary } from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import type { LoadStatus, SliceCreator } from './types.ts';

export interface ProjectSearch {
  query: string;
  status: LoadStatus;
  items: ProjectSummary[];
  error: ContractError | null;
}

export interface ProjectsState {
  items: ProjectSummary[];
  status: LoadStatus;
  error: ContractError | null;
  loadedAt: number | null;
  /** The latest server search, for the query it was made with. */
  search: ProjectSearch | null;
}

export interface ProjectsSlice {
  projects: ProjectsState;
  /** loadProjects (re)loads the full list. Never rejects. */
  loadProjects(): Promise<void>;
  /**
   * searchProjects asks the server for a query; an empty query clears the
   * search. Answers to superseded queries are dropped. Never rejects.
   */
  searchProjects(query: string): Promise<void>;
}

export const initialProjectsState = {
  projects: {
    items: [],
    status: 'idle',
    error: null,
    loadedAt: null,
    search: null,
  } as ProjectsState,
};

export const createProjectsSlice: SliceCreator<ProjectsSlice> =
  ({ bridge }) =>
  (set, get) => ({
    ...initialProjectsState,

    async loadProjects() {
      set((s) => ({
        projects: { ...s.projects, status: 'loading', error: null },
      }));
      try {
        const items = await call(bridge, 'projects:list', {});
        set((s) => ({
          projects: {
            ...s.projects,
            items,
            status: 'ready',
            error: null,
            loadedAt: Date.now(),
          },
        }));
      } catch (err) {
        set((s) => ({
          projects: {
            ...s.projects,
            status: 'error',
            error: toContractError(err),
          },
        }));
      }
    },

    async searchProjects(query) {
      const q = query.trim();
      if (q === '') {
        set((s) => ({ projects: { ...s.projects, search: null } }));
        return;
      }
      set((s) => ({
        projects: {
          ...s.projects,
          search: { query: q, status: 'loading', items: [], error: null },
        },
      }));
      let search: ProjectSearch;
      try {
        const items = await call(bridge, 'projects:list', { search: q });
        search = { query: q, status: 'ready', items, error: null };
      } catch (err) {
        search = {
          query: q,
          status: 'error',
          items: [],
          error: toContractError(err),
        };
      }
      if (get().projects.search?.query !== q) {
        return;
      }
      set((s) => ({ projects: { ...s.projects, search } }));
    },
  });
